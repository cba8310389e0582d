import { useId } from "react";
import { useTranslation } from "react-i18next";
import { listColleagues, type PickableRole } from "../apis/directory";
import { errorMessage } from "../errors";
import { useLoad } from "../hooks/useLoad";

/**
 * Picks a reader or an expert of the community from the directory (GET /api/directory/colleagues),
 * optionally only those of one reading centre (a dispatcher assigns within theirs). `value` is a user id.
 */
export default function ColleaguePicker({
  label,
  role,
  centreId,
  value,
  onChange,
  testId,
  invalid,
}: {
  label: string;
  role: PickableRole;
  centreId?: number | null;
  value: string;
  onChange: (userId: string) => void;
  testId: string;
  invalid?: boolean;
}) {
  const { t } = useTranslation();
  const id = useId();
  const [colleagues] = useLoad((signal) => listColleagues(role, centreId, signal), [role, centreId]);
  return (
    <div className="field">
      <label className="field-label" htmlFor={id}>
        {label}
        <span className="required-mark"> *</span>
      </label>
      <select
        id={id}
        data-testid={`${testId}-select`}
        data-state={colleagues.status}
        value={value}
        required
        aria-invalid={invalid}
        disabled={colleagues.status !== "ok"}
        onChange={(e) => onChange(e.target.value)}
      >
        <option value="" disabled>
          {colleagues.status === "loading" ? t("common.loading") : t("colleague.choose")}
        </option>
        {colleagues.status === "ok"
          ? colleagues.data.map((person) => (
              <option key={person.id} value={String(person.id)}>
                {person.display_name} · {person.centre?.name ?? person.institution.name}
              </option>
            ))
          : null}
      </select>
      {colleagues.status === "error" ? (
        <p className="form-error" role="alert">
          {errorMessage(colleagues.error, t)}
        </p>
      ) : colleagues.status === "ok" && colleagues.data.length === 0 ? (
        <p className="text-muted" data-testid={`${testId}-none`}>
          {t(role === "expert" ? "colleague.noExperts" : "colleague.noReaders")}
        </p>
      ) : null}
    </div>
  );
}
