// A requester's new case: the patient (new, or one of the institution's found by name or ID), the kind, the
// clinical question, the urgency, and DICOM files uploaded resumably to the case. "Save draft" keeps it
// for later (submitted from the case page); "Submit" sends it to the reading centre of its kind.
//
// The API has no edit of a case once created, so the case is created on the first save and its
// details are then locked; the files are uploaded to it after creation (tus metadata case_id).

import { useId, useState, type FormEvent } from "react";
import { useNavigate } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { caseAction, createCase } from "../api";
import { CENTRE_KINDS, REQUEST_KINDS, TARGET_HOURS } from "../caseWorkflow";
import { formatDateTime } from "../dates";
import { errorMessage } from "../errors";
import { useDicomUploads } from "../hooks/useDicomUploads";
import type { PageDef } from "../routes";
import type { CaseKind, NewCaseInput, Sex, Urgency } from "../types";
import ColleaguePicker from "../components/ColleaguePicker";
import DicomUploader from "../components/DicomUploader";
import PatientSearch from "../components/PatientSearch";
import PageHeader from "../components/PageHeader";

/** 18 characters: 17 digits and a digit or X (GB 11643). */
const NATIONAL_ID = /^\d{17}[\dXx]$/;

type Problem = { key: "name" | "nationalId" | "birthDate" | "patient" | "question" | "expert" } | { message: string };

export default function NewRequestPage({ page }: { page: PageDef }) {
  const { t, i18n } = useTranslation();
  const navigate = useNavigate();
  const ids = useId();
  const uploads = useDicomUploads();

  const [existing, setExisting] = useState(false);
  const [patientId, setPatientId] = useState("");
  const [name, setName] = useState("");
  const [sex, setSex] = useState<Sex | "">("");
  const [birthDate, setBirthDate] = useState("");
  const [nationalId, setNationalId] = useState("");
  const [kind, setKind] = useState<CaseKind>("imaging");
  const [question, setQuestion] = useState("");
  const [urgency, setUrgency] = useState<Urgency>("routine");
  const [expert, setExpert] = useState("");
  const [created, setCreated] = useState<number | null>(null);
  const [busy, setBusy] = useState<"draft" | "submit" | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);

  const needsExpert = !CENTRE_KINDS.includes(kind);
  const locked = created !== null || busy !== null;
  const due = new Date(Date.now() + TARGET_HOURS[urgency] * 3600_000).toISOString();

  function check(submitting: boolean): Problem | null {
    if (existing) {
      if (!patientId) return { key: "patient" };
    } else {
      if (!name.trim()) return { key: "name" };
      if (nationalId.trim() && !NATIONAL_ID.test(nationalId.trim())) return { key: "nationalId" };
      if (birthDate && birthDate > new Date().toISOString().slice(0, 10)) return { key: "birthDate" };
    }
    if (submitting && !question.trim()) return { key: "question" };
    if (submitting && needsExpert && !(Number(expert) > 0)) return { key: "expert" };
    return null;
  }

  const invalid = (key: string) => (problem !== null && "key" in problem && problem.key === key ? true : undefined);

  function input(): NewCaseInput {
    const base = { kind, urgency, clinical_question: question.trim() };
    if (existing) return { ...base, patient_id: Number(patientId) };
    return {
      ...base,
      patient: {
        name: name.trim(),
        ...(sex ? { sex } : {}),
        ...(birthDate ? { birth_date: birthDate } : {}),
        ...(nationalId.trim() ? { national_id: nationalId.trim().toUpperCase() } : {}),
      },
    };
  }

  async function save(submitting: boolean) {
    const found = created === null ? check(submitting) : null;
    setProblem(found);
    if (found) return;
    setBusy(submitting ? "submit" : "draft");
    try {
      const caseId = created ?? (await createCase(input())).id;
      setCreated(caseId);
      if (!(await uploads.uploadAll(caseId))) {
        setProblem({ message: t("newRequest.uploadFailed", { id: caseId }) });
        return;
      }
      if (submitting) await caseAction(caseId, "submit", needsExpert ? { expert: Number(expert) } : {});
      navigate(`/cases/${caseId}`);
    } catch (err) {
      setProblem({ message: errorMessage(err, t) });
    } finally {
      setBusy(null);
    }
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    void save(true);
  }

  return (
    <div className="page">
      <PageHeader title={t(page.titleKey)} />
      <form className="request-form" data-testid="new-request" onSubmit={onSubmit} noValidate>
        {created !== null ? (
          <p className="form-ok" role="status" data-testid="new-created" data-case-id={created}>
            {t("newRequest.created", { id: created })}
          </p>
        ) : null}

        <fieldset className="form-section" disabled={locked}>
          <legend>{t("newRequest.patient")}</legend>
          <div className="choice-row" role="radiogroup">
            <label>
              <input type="radio" checked={!existing} onChange={() => setExisting(false)} data-testid="patient-new" />
              {t("newRequest.newPatient")}
            </label>
            <label>
              <input type="radio" checked={existing} onChange={() => setExisting(true)} data-testid="patient-existing" />
              {t("newRequest.existingPatient")}
            </label>
          </div>
          {existing ? (
            <PatientSearch value={patientId} onChange={setPatientId} invalid={invalid("patient")} />
          ) : (
            <div className="form-grid">
              <label className="field">
                <span className="field-label">
                  {t("newRequest.name")}
                  <span className="required-mark"> *</span>
                </span>
                <input value={name} maxLength={100} onChange={(e) => setName(e.target.value)} data-testid="patient-name" aria-invalid={invalid("name")} />
              </label>
              <label className="field">
                <span className="field-label">{t("newRequest.sex")}</span>
                <select value={sex} onChange={(e) => setSex(e.target.value as Sex | "")} data-testid="patient-sex">
                  <option value="">{t("common.none")}</option>
                  <option value="M">{t("sex.M")}</option>
                  <option value="F">{t("sex.F")}</option>
                  <option value="O">{t("sex.O")}</option>
                </select>
              </label>
              <label className="field">
                <span className="field-label">{t("newRequest.birthDate")}</span>
                <input type="date" value={birthDate} max={new Date().toISOString().slice(0, 10)} onChange={(e) => setBirthDate(e.target.value)} data-testid="patient-birth-date" />
              </label>
              <label className="field">
                <span className="field-label">{t("newRequest.nationalId")}</span>
                <input
                  value={nationalId}
                  maxLength={18}
                  inputMode="text"
                  autoComplete="off"
                  onChange={(e) => setNationalId(e.target.value)}
                  data-testid="patient-national-id"
                  aria-invalid={invalid("nationalId")}
                />
              </label>
            </div>
          )}
        </fieldset>

        <fieldset className="form-section" disabled={locked}>
          <legend>{t("newRequest.request")}</legend>
          <div className="form-grid">
            <label className="field">
              <span className="field-label">{t("newRequest.kind")}</span>
              <select value={kind} onChange={(e) => setKind(e.target.value as CaseKind)} data-testid="request-kind">
                {REQUEST_KINDS.map((k) => (
                  <option key={k} value={k}>
                    {t(`kind.${k}`)}
                  </option>
                ))}
              </select>
            </label>
            {needsExpert ? (
              <ColleaguePicker
                label={t("colleague.expert")}
                role="expert"
                value={expert}
                onChange={setExpert}
                testId="request-expert"
                invalid={invalid("expert")}
              />
            ) : null}
          </div>
          <label className="field">
            <span className="field-label">
              {t("newRequest.question")}
              <span className="required-mark"> *</span>
            </span>
            <textarea
              rows={4}
              maxLength={4000}
              value={question}
              placeholder={t("newRequest.questionPlaceholder")}
              onChange={(e) => setQuestion(e.target.value)}
              data-testid="request-question"
              aria-invalid={invalid("question")}
            />
          </label>
          <div className="field">
            <span className="field-label" id={`${ids}-urgency`}>
              {t("newRequest.urgency")}
            </span>
            <div className="choice-row" role="radiogroup" aria-labelledby={`${ids}-urgency`}>
              <label>
                <input type="radio" checked={urgency === "routine"} onChange={() => setUrgency("routine")} data-testid="urgency-routine" />
                {t("urgency.routine")}
              </label>
              <label className="choice-urgent">
                <input type="radio" checked={urgency === "urgent"} onChange={() => setUrgency("urgent")} data-testid="urgency-urgent" />
                {t("urgency.urgent")}
              </label>
            </div>
            <p className={urgency === "urgent" ? "urgent-note" : "text-muted"} data-testid="urgency-target">
              {t(urgency === "urgent" ? "newRequest.urgentTarget" : "newRequest.routineTarget", {
                hours: TARGET_HOURS[urgency],
                time: formatDateTime(due, i18n.language),
              })}
            </p>
          </div>
        </fieldset>

        <fieldset className="form-section">
          <legend>{t("newRequest.files")}</legend>
          <DicomUploader uploads={uploads} disabled={busy !== null} />
        </fieldset>

        {problem ? (
          <p className="form-error" role="alert" data-testid="new-error">
            {"key" in problem ? t(`newRequest.problems.${problem.key}`) : problem.message}
          </p>
        ) : null}

        <div className="form-actions">
          <button type="button" className="btn btn-secondary" data-testid="new-save-draft" disabled={busy !== null} onClick={() => void save(false)}>
            {busy === "draft" ? t("newRequest.saving") : t("newRequest.saveDraft")}
          </button>
          <button type="submit" className="btn btn-primary" data-testid="new-submit" disabled={busy !== null}>
            {busy === "submit" ? t("newRequest.submitting") : t("newRequest.submit")}
          </button>
        </div>
      </form>
    </div>
  );
}
