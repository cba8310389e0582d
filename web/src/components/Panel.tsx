import type { ReactNode } from "react";

/** A centred message panel: coming soon, empty, not found, errors. */
export default function Panel({
  title,
  badge,
  children,
  tone = "info",
  testId,
}: {
  title: ReactNode;
  badge?: ReactNode;
  children?: ReactNode;
  tone?: "info" | "warning" | "error";
  testId?: string;
}) {
  return (
    <section className={`panel panel-${tone}`} data-testid={testId} role={tone === "error" ? "alert" : undefined}>
      {badge ? <span className="panel-badge">{badge}</span> : null}
      <h2 className="panel-title">{title}</h2>
      {children ? <div className="panel-body">{children}</div> : null}
    </section>
  );
}
