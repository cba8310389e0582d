import { useEffect, useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { searchPatients } from "../apis/directory";
import { errorMessage } from "../errors";
import type { PatientSummary } from "../apis/directory";
import { SEXES, isKnown } from "../types";

const PAUSE_MS = 300;

type Found = { status: "idle" } | { status: "loading" } | { status: "error"; error: unknown } | { status: "ok"; patients: PatientSummary[] };

/**
 * Finds one of the clinic's own patients (GET /api/patients?q=): a name's first characters, or the last
 * digits of the national ID or health card, as a doctor would ask a returning patient. Each search is
 * audited by the server, so it runs after a short pause in typing, not on every key.
 */
export default function PatientSearch({ value, onChange, invalid }: { value: string; onChange: (patientId: string) => void; invalid?: boolean }) {
  const { t } = useTranslation();
  const id = useId();
  const [q, setQ] = useState("");
  const [found, setFound] = useState<Found>({ status: "idle" });

  useEffect(() => {
    const query = q.trim();
    if (!query) return setFound({ status: "idle" });
    const controller = new AbortController();
    const timer = window.setTimeout(() => {
      setFound({ status: "loading" });
      searchPatients(query, controller.signal)
        .then((patients) => setFound({ status: "ok", patients }))
        .catch((error: unknown) => {
          if (!controller.signal.aborted) setFound({ status: "error", error });
        });
    }, PAUSE_MS);
    return () => {
      window.clearTimeout(timer);
      controller.abort();
    };
  }, [q]);

  const patients = found.status === "ok" ? found.patients : [];
  useEffect(() => {
    if (found.status === "ok" && found.patients.length === 1) onChange(String(found.patients[0].id));
    else if (found.status === "ok" && !found.patients.some((p) => String(p.id) === value)) onChange("");
  }, [found]);

  return (
    <div className="form-grid">
      <label className="field">
        <span className="field-label">{t("newRequest.searchPatient")}</span>
        <input
          type="search"
          value={q}
          maxLength={50}
          autoComplete="off"
          placeholder={t("newRequest.searchPatientPlaceholder")}
          onChange={(e) => setQ(e.target.value)}
          data-testid="patient-search"
        />
      </label>
      <div className="field">
        <label className="field-label" htmlFor={id}>
          {t("newRequest.choosePatient")}
          <span className="required-mark"> *</span>
        </label>
        <select
          id={id}
          value={value}
          onChange={(e) => onChange(e.target.value)}
          data-testid="patient-select"
          data-state={found.status}
          aria-invalid={invalid}
          disabled={patients.length === 0}
        >
          <option value="">
            {found.status === "loading"
              ? t("common.loading")
              : found.status === "ok"
                ? t("newRequest.patientsFound", { count: patients.length })
                : t("newRequest.choosePatientPlaceholder")}
          </option>
          {patients.map((p) => (
            <option key={p.id} value={String(p.id)}>
              {p.name}
              {p.sex ? ` · ${isKnown(SEXES, p.sex) ? t(`sex.${p.sex}`) : p.sex}` : ""}
              {p.birth_date ? ` · ${p.birth_date}` : ""}
              {p.national_id_masked ? ` · ${p.national_id_masked}` : ""}
            </option>
          ))}
        </select>
        {found.status === "error" ? (
          <p className="form-error" role="alert">
            {errorMessage(found.error, t)}
          </p>
        ) : null}
      </div>
    </div>
  );
}
