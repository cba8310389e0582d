import { Link } from "react-router-dom";
import { useTranslation } from "react-i18next";
import type { ReferralSummary } from "../../apis/referrals";
import { formatDateTime } from "../../dates";
import PriorityFlags from "./PriorityFlags";
import ReferralActions from "./ReferralActions";
import { slotKindLabel, stateLabel } from "./labels";

/** Referrals as summaries (the patient's name masked); the steps that need no record are taken here. */
export default function ReferralTable({ referrals, onChanged, testId }: { referrals: ReferralSummary[]; onChanged: () => void; testId: string }) {
  const { t, i18n } = useTranslation();
  return (
    <div className="table-wrap">
      <table className="data-table" data-testid={testId}>
        <thead>
          <tr>
            <th scope="col">{t("referral.number")}</th>
            <th scope="col">{t("referral.direction")}</th>
            <th scope="col">{t("referral.patient")}</th>
            <th scope="col">{t("referral.route")}</th>
            <th scope="col">{t("referral.state")}</th>
            <th scope="col">{t("referral.slot")}</th>
            <th scope="col">{t("referral.sentAt")}</th>
            <th scope="col">{t("referral.steps")}</th>
          </tr>
        </thead>
        <tbody>
          {referrals.map((r) => (
            <tr key={r.id} data-testid="referral-row" data-referral-id={r.id} data-state={r.state} data-direction={r.direction}>
              <td className="cell-id">
                <Link to={`/referrals/${r.id}`} data-testid="referral-open">
                  #{r.id}
                </Link>
              </td>
              <td>{t(`referral.directions.${r.direction}`)}</td>
              <td className="cell-wrap">
                {r.patient.name_masked}
                <PriorityFlags flags={r.priority} />
              </td>
              <td className="cell-wrap">
                {r.from_institution.name} → {r.to_institution.name}
              </td>
              <td>
                <span className={`status status-referral-${r.state}`} data-testid="referral-state">
                  {stateLabel(r.state, t)}
                </span>
                {r.decline_reason ? <div className="text-muted">{r.decline_reason}</div> : null}
              </td>
              <td data-testid="referral-slot">
                {r.slot ? `${r.slot.day} · ${slotKindLabel(r.slot.kind, t)}${r.slot.department ? ` · ${r.slot.department}` : ""}` : t("common.none")}
              </td>
              <td className="cell-time">{formatDateTime(r.created_at, i18n.language)}</td>
              <td className="cell-actions">
                <ReferralActions referral={r} onChanged={onChanged} only={["receive", "book", "decline"]} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
