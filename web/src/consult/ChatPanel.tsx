// The room's chat: every admitted peer (observers too) reads and writes; lines arrive in room order.

import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import type { ChatLine } from "./protocol";

const MAX_CHARS = 2000;

export default function ChatPanel({ lines, onSend }: { lines: ChatLine[]; onSend: (text: string) => void }) {
  const { t } = useTranslation();
  const [text, setText] = useState("");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const trimmed = text.trim();
    if (!trimmed) return;
    onSend(trimmed);
    setText("");
  };
  return (
    <section className="consult-chat" data-testid="consult-chat">
      <h2 className="section-title">{t("consultRoom.chat")}</h2>
      <ol className="consult-chat-lines">
        {lines.map((line) => (
          <li key={line.seq} data-testid="consult-chat-line">
            <strong>{line.display_name}</strong> {line.text}
          </li>
        ))}
      </ol>
      <form onSubmit={submit} className="consult-chat-form">
        <input
          value={text}
          maxLength={MAX_CHARS}
          onChange={(event) => setText(event.target.value)}
          placeholder={t("consultRoom.chatPlaceholder")}
          data-testid="consult-chat-input"
        />
        <button type="submit" className="btn btn-secondary" data-testid="consult-chat-send">
          {t("consultRoom.send")}
        </button>
      </form>
    </section>
  );
}
