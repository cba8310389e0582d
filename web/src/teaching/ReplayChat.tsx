// The session's chat as it stood at the current moment of the recording (read only).

import { useTranslation } from "react-i18next";
import type { TimedChat } from "./replay";
import { formatClock } from "./replay";

export default function ReplayChat({ lines }: { lines: TimedChat[] }) {
  const { t } = useTranslation();
  return (
    <section className="teaching-side-section" data-testid="teaching-replay-chat">
      <h2 className="section-title">{t("teaching.player.chat")}</h2>
      {lines.length === 0 ? <p className="text-muted">{t("teaching.player.noChat")}</p> : null}
      <ol className="consult-chat-lines">
        {lines.map((line) => (
          <li key={line.seq} data-testid="teaching-chat-line">
            <span className="teaching-chapter-time">{formatClock(line.t_ms)}</span>{" "}
            {line.payload.display_name ? <strong>{line.payload.display_name} </strong> : null}
            {line.payload.text}
          </li>
        ))}
      </ol>
    </section>
  );
}
