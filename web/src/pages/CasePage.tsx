// One case for everyone who may see it: header, clinical question, the actions open to this user, the
// report (editor for the reader holding it), attached studies, and the timeline. Steps taken by others
// arrive over the worklist stream and update the page in place; opening it marks its notifications read.

import { useCallback, useEffect, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { getCase, listCaseEvents, listNotifications, markNotificationRead } from "../api";
import { useUser } from "../auth";
import { formatDateTime } from "../dates";
import { errorMessage } from "../errors";
import { useDicomUploads } from "../hooks/useDicomUploads";
import { useLoad } from "../hooks/useLoad";
import { useWorklistStream } from "../hooks/useWorklistStream";
import type { PageDef } from "../routes";
import { CASE_KINDS, CASE_STATUSES, SEXES, isKnown, type CaseDetail, type Role } from "../types";
import CaseActions from "../components/CaseActions";
import CaseStudies from "../components/CaseStudies";
import CaseTimeline from "../components/CaseTimeline";
import CaseEcgs from "../components/ecg/CaseEcgs";
import CaseSlides from "../components/slides/CaseSlides";
import DicomUploader from "../components/DicomUploader";
import PageHeader from "../components/PageHeader";
import Panel from "../components/Panel";
import ReportPanel from "../components/ReportPanel";

/** Where "back" leads: the list this role works from. */
function listPathFor(role: Role): string {
  if (role === "reader" || role === "dispatcher") return "/worklist";
  if (role === "expert") return "/consults";
  return "/";
}

function CaseHeader({ detail }: { detail: CaseDetail }) {
  const { t, i18n } = useTranslation();
  const when = (iso: string | null | undefined) => formatDateTime(iso, i18n.language) || t("common.none");
  return (
    <section className="case-summary" data-testid="case-summary">
      <div className="case-badges">
        <span className={`status status-${detail.status}`} data-testid="case-status" data-status={detail.status}>
          {isKnown(CASE_STATUSES, detail.status) ? t(`status.${detail.status}`) : detail.status}
        </span>
        {detail.urgency === "urgent" ? (
          <span className="badge badge-urgent" data-testid="urgent-badge" title={t("urgency.urgentTitle")}>
            {t("urgency.urgent")}
          </span>
        ) : (
          <span className="text-muted">{t("urgency.routine")}</span>
        )}
        {detail.overdue ? (
          <span className="badge badge-overdue" data-testid="case-overdue">
            {t("casePage.overdue")}
          </span>
        ) : null}
      </div>
      <dl className="summary-grid">
        <div>
          <dt>{t("casePage.patient")}</dt>
          <dd>
            <span className="patient-name">{detail.patient.name}</span>
            {detail.patient.sex ? <span className="patient-sex">{isKnown(SEXES, detail.patient.sex) ? t(`sex.${detail.patient.sex}`) : detail.patient.sex}</span> : null}
            {detail.patient.birth_date ? <span className="patient-sex">{detail.patient.birth_date}</span> : null}
          </dd>
        </div>
        <div>
          <dt>{t("cases.columns.nationalId")}</dt>
          <dd className="cell-mono" data-testid="case-patient-id">
            {detail.patient.national_id_masked || t("common.none")}
          </dd>
        </div>
        <div>
          <dt>{t("cases.columns.kind")}</dt>
          <dd>{isKnown(CASE_KINDS, detail.kind) ? t(`kind.${detail.kind}`) : detail.kind}</dd>
        </div>
        <div>
          <dt>{t("cases.columns.institution")}</dt>
          <dd>{detail.institution.name}</dd>
        </div>
        <div>
          <dt>{t("casePage.centre")}</dt>
          <dd>{detail.centre?.name ?? t("common.none")}</dd>
        </div>
        <div>
          <dt>{t("casePage.assignee")}</dt>
          <dd data-testid="case-assignee">{detail.assigned_to?.display_name ?? t("common.none")}</dd>
        </div>
        {detail.escalated_to ? (
          <div>
            <dt>{t("casePage.escalatedTo")}</dt>
            <dd>{detail.escalated_to.display_name}</dd>
          </div>
        ) : null}
        <div>
          <dt>{t("casePage.submittedAt")}</dt>
          <dd className="cell-time">{when(detail.submitted_at)}</dd>
        </div>
        <div>
          <dt>{t("casePage.targetAt")}</dt>
          <dd className="cell-time" data-testid="case-target">
            {when(detail.target_at)}
          </dd>
        </div>
        {detail.reported_at ? (
          <div>
            <dt>{t("casePage.reportedAt")}</dt>
            <dd className="cell-time">{when(detail.reported_at)}</dd>
          </div>
        ) : null}
      </dl>
    </section>
  );
}

/** More images for a draft or a returned case (退回补充), uploaded at once. */
function AddImages({ caseId, onUploaded }: { caseId: number; onUploaded: () => void }) {
  const { t } = useTranslation();
  const uploads = useDicomUploads();
  const pending = uploads.entries.some((e) => e.state === "ready" || e.state === "failed");
  return (
    <section className="case-section" data-testid="add-images">
      <h2 className="section-title">{t("casePage.addImages")}</h2>
      <DicomUploader uploads={uploads} disabled={uploads.busy} />
      <button
        type="button"
        className="btn btn-primary"
        data-testid="upload-start"
        disabled={uploads.busy || !pending}
        onClick={() => void uploads.uploadAll(caseId).then(onUploaded)}
      >
        {uploads.busy ? t("upload.uploading") : t("upload.start")}
      </button>
    </section>
  );
}

export default function CasePage(_props: { page: PageDef }) {
  const { t } = useTranslation();
  const user = useUser();
  const { caseId: rawId = "" } = useParams();
  const caseId = Number(rawId);
  const [load, refresh] = useLoad((signal) => getCase(caseId, signal), [caseId]);
  const detail = load.status === "ok" ? load.data : null;
  const [events] = useLoad((signal) => listCaseEvents(caseId, signal), [caseId], detail?.updated_at);
  const [studiesVersion, setStudiesVersion] = useState(0);

  // Someone else's step on this case (signed, returned, claimed...): reload it in place.
  const onEvent = useCallback(
    (event: { case_id: number }) => {
      if (event.case_id === caseId) refresh();
    },
    [caseId, refresh],
  );
  useWorklistStream(onEvent, refresh);

  // The user has seen this case now: its notifications to them are read.
  useEffect(() => {
    if (!detail) return;
    const controller = new AbortController();
    listNotifications(controller.signal)
      .then((items) =>
        Promise.all(items.filter((n) => n.case.id === caseId && !n.read_at && !n.for_centre).map((n) => markNotificationRead(n.id))),
      )
      .catch(() => undefined); // a notification left unread is no reason to disturb the page
    return () => controller.abort();
  }, [caseId, detail?.updated_at]);

  const back = (
    <Link to={listPathFor(user.role)} className="btn btn-secondary">
      {t("casePage.back")}
    </Link>
  );

  if (!Number.isInteger(caseId) || caseId <= 0 || (load.status === "error" && !detail)) {
    return (
      <div className="page">
        <PageHeader title={t("nav.case")} actions={back} />
        <Panel tone="error" title={t("casePage.loadError", { message: load.status === "error" ? errorMessage(load.error, t) : rawId })} testId="case-error">
          <button type="button" className="btn btn-secondary" onClick={refresh}>
            {t("common.retry")}
          </button>
        </Panel>
      </div>
    );
  }
  if (!detail) {
    return (
      <div className="page">
        <PageHeader title={t("nav.case")} actions={back} />
        <p className="loading" role="status">
          {t("common.loading")}
        </p>
      </div>
    );
  }

  const kind = isKnown(CASE_KINDS, detail.kind) ? t(`kind.${detail.kind}`) : detail.kind;
  const mayAddImages = detail.actions.includes("submit") || detail.actions.includes("resubmit");
  return (
    <div className="page case-page" data-testid="case-page" data-case-id={detail.id} data-status={detail.status}>
      <PageHeader title={t("casePage.title", { id: detail.id, kind })} actions={back} />
      <CaseHeader detail={detail} />
      <CaseActions detail={detail} onChanged={refresh} />
      {user.role === "requester" && detail.status !== "cancelled" ? (
        <p className="case-refer">
          <Link to={`/cases/${detail.id}/refer`} className="btn btn-secondary" data-testid="case-refer">
            {t("referral.new.open")}
          </Link>{" "}
          <span className="text-muted">{t("referral.new.openHint")}</span>
        </p>
      ) : null}

      <p className="case-consult">
        <Link to={`/cases/${detail.id}/consult`} className="btn btn-secondary" data-testid="case-consult">
          {t("consultRoom.join")}
        </Link>{" "}
        <span className="text-muted">{t("consultRoom.joinHint")}</span>
      </p>

      <section className="case-section">
        <h2 className="section-title">{t("casePage.question")}</h2>
        <p className="case-question" data-testid="case-question">
          {detail.clinical_question || t("common.none")}
        </p>
      </section>

      {mayAddImages ? <AddImages caseId={detail.id} onUploaded={() => setStudiesVersion((n) => n + 1)} /> : null}

      <section className="case-section">
        <h2 className="section-title">{t("casePage.report")}</h2>
        <ReportPanel detail={detail} onCaseChanged={refresh} />
      </section>

      {detail.kind === "ecg" ? (
        <section className="case-section">
          <h2 className="section-title">{t("ecg.section")}</h2>
          <CaseEcgs
            caseId={detail.id}
            mayAttach={user.role === "requester" && !["closed", "cancelled"].includes(detail.status)}
            refreshKey={detail.updated_at}
          />
        </section>
      ) : null}

      {detail.kind === "pathology" ? (
        <section className="case-section">
          <h2 className="section-title">{t("slides.section")}</h2>
          <CaseSlides
            caseId={detail.id}
            mayUpload={user.role === "requester" && !["closed", "cancelled"].includes(detail.status)}
            refreshKey={detail.updated_at}
          />
        </section>
      ) : null}

      <section className="case-section">
        <h2 className="section-title">{t("casePage.studies")}</h2>
        <CaseStudies caseId={detail.id} refreshKey={`${detail.updated_at}:${studiesVersion}`} />
      </section>

      <section className="case-section">
        <h2 className="section-title">{t("casePage.timeline")}</h2>
        {events.status === "ok" ? (
          <CaseTimeline events={events.data} />
        ) : events.status === "error" ? (
          <p className="form-error" role="alert">
            {errorMessage(events.error, t)}
          </p>
        ) : (
          <p className="loading">{t("common.loading")}</p>
        )}
      </section>
    </div>
  );
}
