import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import type { Person } from "../types";

const OTHER = "other";

/**
 * Picks a colleague by user id: from the colleagues this page knows of, or by typing the id.
 * The API has no directory of colleagues yet, so the list holds those seen on cases.
 */
export default function ColleaguePicker({
  label,
  known,
  value,
  onChange,
  testId,
}: {
  label: string;
  known: Person[];
  value: string;
  onChange: (userId: string) => void;
  testId: string;
}) {
  const { t } = useTranslation();
  const id = useId();
  const [typing, setTyping] = useState(known.length === 0);
  return (
    <div className="field">
      <label className="field-label" htmlFor={id}>
        {label}
      </label>
      {known.length > 0 ? (
        <select
          id={id}
          data-testid={`${testId}-select`}
          value={typing ? OTHER : value}
          required
          onChange={(e) => {
            const other = e.target.value === OTHER;
            setTyping(other);
            onChange(other ? "" : e.target.value);
          }}
        >
          <option value="" disabled>
            {t("colleague.choose")}
          </option>
          {known.map((person) => (
            <option key={person.id} value={String(person.id)}>
              {person.display_name} · {t(`role.${person.role}`)}
            </option>
          ))}
          <option value={OTHER}>{t("colleague.byId")}</option>
        </select>
      ) : null}
      {typing ? (
        <input
          id={known.length > 0 ? undefined : id}
          type="number"
          min={1}
          inputMode="numeric"
          required
          data-testid={`${testId}-id`}
          placeholder={t("colleague.idPlaceholder")}
          value={value}
          onChange={(e) => onChange(e.target.value)}
        />
      ) : null}
    </div>
  );
}
