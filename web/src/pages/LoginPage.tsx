import { useEffect, useState, type FormEvent } from "react";
import { useNavigate } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { ApiError } from "../api";
import { useAuth } from "../auth";
import { errorMessage } from "../errors";
import LanguageSwitch from "../components/LanguageSwitch";

type LoginError =
  | { kind: "required" }
  | { kind: "invalid" }
  | { kind: "rateLimited"; until: number | null }
  | { kind: "other"; error: unknown };

export default function LoginPage() {
  const { t } = useTranslation();
  const { login } = useAuth();
  const navigate = useNavigate();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<LoginError | null>(null);
  const [now, setNow] = useState(() => Date.now());

  useEffect(() => {
    document.title = t("app.name");
  }, [t]);

  // Count the rate-limit wait down once a second.
  const until = error?.kind === "rateLimited" ? error.until : null;
  useEffect(() => {
    if (until === null) return;
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, [until]);
  const secondsLeft = until === null ? 0 : Math.max(0, Math.ceil((until - now) / 1000));
  const locked = until !== null && secondsLeft > 0;

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (busy || locked) return;
    if (!username.trim() || !password) {
      setError({ kind: "required" });
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await login(username.trim(), password);
      navigate("/", { replace: true });
    } catch (err) {
      setPassword("");
      if (err instanceof ApiError && err.status === 401) {
        setError({ kind: "invalid" });
      } else if (err instanceof ApiError && err.status === 429) {
        const start = Date.now();
        setNow(start);
        setError({ kind: "rateLimited", until: err.retryAfter === null ? null : start + err.retryAfter * 1000 });
      } else {
        setError({ kind: "other", error: err });
      }
      setBusy(false);
    }
  }

  let message: string | null = null;
  if (error?.kind === "required") message = t("login.required");
  else if (error?.kind === "invalid") message = t("login.invalidCredentials");
  else if (error?.kind === "rateLimited")
    message =
      error.until === null ? t("login.tooManyAttemptsLater") : t("login.tooManyAttempts", { seconds: secondsLeft });
  else if (error?.kind === "other") message = errorMessage(error.error, t);

  return (
    <div className="login-screen">
      <div className="login-lang">
        <LanguageSwitch />
      </div>
      <main className="login-card">
        <div className="login-brand">
          <img src="/favicon.svg" alt="" width={48} height={48} />
          <h1>{t("app.name")}</h1>
          <p className="login-tagline">{t("app.tagline")}</p>
        </div>
        <form className="login-form" onSubmit={onSubmit} noValidate aria-label={t("login.title")}>
          <h2 className="login-title">{t("login.title")}</h2>
          <label className="field">
            <span className="field-label">{t("login.username")}</span>
            <input
              type="text"
              name="username"
              autoComplete="username"
              autoCapitalize="none"
              spellCheck={false}
              autoFocus
              placeholder={t("login.usernamePlaceholder")}
              value={username}
              onChange={(e) => setUsername(e.target.value)}
              data-testid="login-username"
              aria-invalid={error?.kind === "invalid" || undefined}
            />
          </label>
          <label className="field">
            <span className="field-label">{t("login.password")}</span>
            <input
              type="password"
              name="password"
              autoComplete="current-password"
              placeholder={t("login.passwordPlaceholder")}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              data-testid="login-password"
              aria-invalid={error?.kind === "invalid" || undefined}
            />
          </label>
          {message ? (
            <div className="form-error" role="alert" data-testid="login-error" data-error={error?.kind}>
              {message}
            </div>
          ) : null}
          <button type="submit" className="btn btn-primary btn-block" data-testid="login-submit" disabled={busy || locked}>
            {busy ? t("login.submitting") : t("login.submit")}
          </button>
        </form>
        <p className="login-notice">{t("login.notice")}</p>
      </main>
    </div>
  );
}
