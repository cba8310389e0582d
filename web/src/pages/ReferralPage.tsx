// One referral's record: the letter, the material from the source case, the treatment plan and notes
// written upstairs, the referral down with its follow-up plan, and the history. Doctors of the upper
// hospital (and its office, and administrators) confirm the patient's identity before it opens; the
// referring doctors, who know their patient, read it at once.

import { useState } from "react";
import { Link, useParams } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { ApiError, reportTemplate } from "../api";
import { followUpPlanOf, getReferral, type ReferralRecord } from "../apis/referrals";
import { useUser } from "../auth";
import { formatDateTime } from "../dates";
import { errorMessage } from "../errors";
import { useLoad } from "../hooks/useLoad";
import { SEXES, isKnown } from "../types";
import type { PageDef } from "../routes";
import PageHeader from "../components/PageHeader";
import Panel from "../components/Panel";
import IdentityCheck from "../components/referrals/IdentityCheck";
import PriorityFlags from "../components/referrals/PriorityFlags";
import ReferDownForm from "../components/referrals/ReferDownForm";
import ReferralActions from "../components/referrals/ReferralActions";
import { NoteForm, NoteList } from "../components/referrals/ReferralNotes";
import TriageBadge from "../components/referrals/TriageBadge";
import { actionLabel, slotKindLabel, stateLabel } from "../components/referrals/labels";

const NOTE_STATES = ["received", "booked", "arrived", "admitted", "treated", "discharged"];

function Field({ label, value, testId }: { label: string; value: string | null | undefined; testId: string }) {
  const { t } = useTranslation();
  return (
    <div className="report-item" data-testid={testId}>
      <dt>{label}</dt>
      <dd>{value || t("common.none")}</dd>
    </div>
  );
}

function Record({ record, refresh }: { record: ReferralRecord; refresh: () => void }) {
  const { t, i18n } = useTranslation();
  const { letter, material, patient } = record;
  // A referral up carries an empty plan ({}); only a referral down has one.
  const plan = followUpPlanOf(record);
  const [template] = useLoad((signal) => reportTemplate(material.case.kind, signal), [material.case.kind]);
  const fieldLabel = (key: string) => {
    const field = template.status === "ok" ? template.data.fields.find((f) => f.key === key) : undefined;
    return field ? (i18n.language.startsWith("zh") ? field.label_zh : field.label_en) : key;
  };
  const mayWrite = record.direction === "up" && record.sides.includes("receiver") && NOTE_STATES.includes(record.state);
  return (
    <div className="referral-record" data-testid="referral-record" data-referral-id={record.id} data-state={record.state} data-direction={record.direction}>
      <section className="case-summary" data-testid="referral-summary">
        <div className="case-badges">
          <span className={`status status-referral-${record.state}`} data-testid="referral-state" data-state={record.state}>
            {stateLabel(record.state, t)}
          </span>
          <span>{t(`referral.directions.${record.direction}`)}</span>
          <PriorityFlags flags={record.priority} />
        </div>
        <dl className="summary-grid">
          <Field label={t("referral.route")} value={`${record.from_institution.name} → ${record.to_institution.name}`} testId="referral-route" />
          <Field label={t("referral.patient")} value={`${patient.name}${patient.sex ? ` · ${isKnown(SEXES, patient.sex) ? t(`sex.${patient.sex}`) : patient.sex}` : ""}${patient.birth_date ? ` · ${patient.birth_date}` : ""}`} testId="referral-patient" />
          <Field
            label={t("referral.slot")}
            value={record.slot ? `${record.slot.day} · ${slotKindLabel(record.slot.kind, t)}${record.slot.department ? ` · ${record.slot.department}` : ""}` : null}
            testId="referral-slot"
          />
          <Field label={t("referral.sentBy")} value={`${record.created_by?.display_name ?? ""} · ${formatDateTime(record.created_at, i18n.language)}`} testId="referral-sent-by" />
        </dl>
        {record.identity_checked_until ? (
          <p className="text-muted" data-testid="identity-checked">
            {t("referral.identity.checkedUntil", { time: formatDateTime(record.identity_checked_until, i18n.language) })}
          </p>
        ) : null}
      </section>

      <ReferralActions referral={{ ...record, patient: { name_masked: patient.name, sex: patient.sex } }} onChanged={refresh} />

      {record.parent_id ? (
        <p>
          <Link to={`/referrals/${record.parent_id}`} data-testid="referral-parent">
            {t("referral.parentLink", { id: record.parent_id })}
          </Link>
        </p>
      ) : null}
      {record.down_referral_id ? (
        <p>
          <Link to={`/referrals/${record.down_referral_id}`} data-testid="referral-down-link">
            {t("referral.downLink", { id: record.down_referral_id })}
          </Link>
        </p>
      ) : null}

      <section className="case-section">
        <h2 className="section-title">{t(record.direction === "up" ? "referral.letter.title" : "referral.down.letterTitle")}</h2>
        <dl className="report-body">
          {record.direction === "up" ? <Field label={t("referral.letter.reason")} value={letter.reason} testId="letter-reason" /> : null}
          <Field label={t("referral.letter.diagnosis")} value={letter.diagnosis} testId="letter-diagnosis" />
          {record.direction === "up" ? (
            <>
              <Field label={t("referral.letter.history")} value={letter.history} testId="letter-history" />
              <Field label={t("referral.letter.treatment")} value={letter.treatment} testId="letter-treatment" />
            </>
          ) : (
            <Field label={t("referral.down.summary")} value={record.discharge_summary} testId="letter-discharge" />
          )}
        </dl>
        {plan ? (
          <dl className="report-body" data-testid="follow-up-plan">
            <Field label={t("referral.down.plan")} value={plan.plan} testId="plan-text" />
            <Field label={t("referral.down.dates")} value={plan.due_dates.join("、")} testId="plan-dates" />
            <div className="report-item">
              <dt>{t("referral.down.colour")}</dt>
              <dd>{plan.colour ? <><TriageBadge colour={plan.colour} /> {t(`followUp.meaning.${plan.colour}`)}</> : t("common.none")}</dd>
            </div>
          </dl>
        ) : null}
      </section>

      <section className="case-section" data-testid="referral-material">
        <h2 className="section-title">{t("referral.material.title")}</h2>
        <p>
          {t("referral.material.case", { id: material.case.id, kind: t(`kind.${material.case.kind}`) })} · {material.case.clinical_question}
        </p>
        {material.studies.length > 0 ? (
          <ul className="study-list">
            {material.studies.map((s) => (
              <li key={s.study_uid} className="study-item" data-testid="material-study">
                {s.description || s.study_uid} · {s.modalities.join("/")} {s.study_date ?? ""}
              </li>
            ))}
          </ul>
        ) : (
          <p className="text-muted">{t("referral.material.noStudies")}</p>
        )}
        {material.report ? (
          <dl className="report-body" data-testid="material-report">
            {Object.entries(material.report.content).map(([key, value]) => (
              <Field key={key} label={fieldLabel(key)} value={String(value)} testId={`material-report-${key}`} />
            ))}
          </dl>
        ) : (
          <p className="text-muted">{t("referral.material.noReport")}</p>
        )}
      </section>

      {record.direction === "up" ? (
        <section className="case-section">
          <h2 className="section-title">{t("referral.notes.title")}</h2>
          <NoteList notes={record.notes} />
          {mayWrite ? <NoteForm referralId={record.id} onAdded={refresh} /> : null}
        </section>
      ) : null}

      {record.actions.includes("refer_down") && !record.down_referral_id ? (
        <section className="case-section">
          <ReferDownForm referralId={record.id} diagnosis={letter.diagnosis} />
        </section>
      ) : null}

      <section className="case-section">
        <h2 className="section-title">{t("casePage.timeline")}</h2>
        <ol className="timeline" data-testid="referral-timeline">
          {record.events.map((e, i) => (
            <li key={i} className="timeline-item" data-testid="referral-event" data-action={e.action}>
              <div className="timeline-head">
                <span className="timeline-action">{e.action === "send" ? t("referral.sent") : actionLabel(e.action, t)}</span>
                <span className="timeline-meta">
                  {e.actor?.display_name ?? t("common.none")} · {formatDateTime(e.at, i18n.language)}
                </span>
              </div>
              {e.note ? <p className="timeline-note">{e.note}</p> : null}
            </li>
          ))}
        </ol>
      </section>
    </div>
  );
}

export default function ReferralPage({ page }: { page: PageDef }) {
  const { t } = useTranslation();
  const user = useUser();
  const { referralId = "" } = useParams();
  const id = Number(referralId);
  const [load, refresh] = useLoad((signal) => getReferral(id, signal), [id]);
  const [checking, setChecking] = useState(true);
  const back = (
    <Link to={user.role === "requester" ? "/referrals" : "/referral-desk"} className="btn btn-secondary">
      {t("casePage.back")}
    </Link>
  );
  const title = `${t(page.titleKey)} #${referralId}`;

  if (load.status === "loading") {
    return (
      <div className="page">
        <PageHeader title={title} actions={back} />
        <p className="loading" role="status">
          {t("common.loading")}
        </p>
      </div>
    );
  }
  if (load.status === "error") {
    const needsCheck = load.error instanceof ApiError && load.error.code === "identity_check_required";
    return (
      <div className="page">
        <PageHeader title={title} actions={back} />
        {needsCheck ? (
          <Panel tone="warning" title={t("referral.identity.required")} testId="identity-required">
            <p>{t("referral.identity.why")}</p>
            <button type="button" className="btn btn-primary" onClick={() => setChecking(true)} data-testid="identity-open">
              {t("referral.identity.title")}
            </button>
            {checking ? <IdentityCheck referralId={id} onChecked={refresh} onClose={() => setChecking(false)} /> : null}
          </Panel>
        ) : (
          <Panel tone="error" title={errorMessage(load.error, t)} testId="referral-error" />
        )}
      </div>
    );
  }
  return (
    <div className="page">
      <PageHeader title={title} actions={back} />
      <Record record={load.data} refresh={refresh} />
    </div>
  );
}
