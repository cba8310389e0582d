import { useTranslation } from "react-i18next";
import { priorityLabel } from "./labels";

/** 两免三优先, shown as the flags the referral carries (none when the patient was not referred by their family doctor). */
export default function PriorityFlags({ flags }: { flags: string[] }) {
  const { t } = useTranslation();
  if (flags.length === 0) return null;
  return (
    <span className="priority-flags" data-testid="priority-flags" title={t("referral.priority.title")}>
      <span className="badge badge-priority">{t("referral.priority.badge")}</span>
      {flags.map((flag) => (
        <span key={flag} className="priority-flag" data-testid="priority-flag" data-flag={flag}>
          {priorityLabel(flag, t)}
        </span>
      ))}
    </span>
  );
}
