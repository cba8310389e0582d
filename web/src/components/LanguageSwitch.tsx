import { useTranslation } from "react-i18next";
import { currentLocale, setLocale, type Locale } from "../i18n";

/** One button that toggles between 中文 and English; the choice is kept in localStorage. */
export default function LanguageSwitch({ className = "" }: { className?: string }) {
  const { t, i18n } = useTranslation();
  void i18n.language; // re-render on language change
  const locale = currentLocale();
  const target: Locale = locale === "zh-CN" ? "en" : "zh-CN";
  const targetName = t(`lang.${target}`);
  return (
    <button
      type="button"
      className={`lang-switch ${className}`}
      data-testid="lang-switch"
      data-locale={locale}
      lang={target}
      aria-label={t("lang.switchTo", { language: targetName })}
      title={t("lang.switchTo", { language: targetName })}
      onClick={() => setLocale(target)}
    >
      <span aria-hidden="true" className="lang-switch-icon">
        文/A
      </span>
      {targetName}
    </button>
  );
}
