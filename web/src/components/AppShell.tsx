import { useState } from "react";
import { Link, NavLink, Outlet, useNavigate } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { useAuth, useUser } from "../auth";
import { navFor } from "../routes";
import LanguageSwitch from "./LanguageSwitch";

export default function AppShell() {
  const { t } = useTranslation();
  const user = useUser();
  const { logout } = useAuth();
  const navigate = useNavigate();
  const [leaving, setLeaving] = useState(false);

  // The institution the user works for; users attached to a diagnosis centre or
  // only to the medical community (admins, auditors) show that instead.
  const affiliation = user.institution?.name ?? user.centre?.name ?? user.community?.name ?? t("shell.noInstitution");
  const affiliationDetail = user.institution
    ? t(`tier.${user.institution.tier}`)
    : user.centre
      ? t(`centreKind.${user.centre.kind}`)
      : undefined;

  async function onLogout() {
    setLeaving(true);
    await logout();
    navigate("/login", { replace: true });
  }

  return (
    <div className="shell" data-testid="app-shell" data-role={user.role}>
      <header className="topbar">
        <Link to="/" className="brand">
          <img src="/favicon.svg" alt="" className="brand-logo" width={28} height={28} />
          <span className="brand-name">{t("app.name")}</span>
        </Link>
        <div className="topbar-user" aria-label={t("shell.userMenu")}>
          <div className="user-text">
            <span className="user-name" data-testid="shell-user">
              {user.display_name}
            </span>
            <span className="user-meta">
              <span className="role-pill" data-testid="shell-role" data-role={user.role}>
                {t(`role.${user.role}`)}
              </span>
              <span className="user-institution" data-testid="shell-institution" title={affiliationDetail}>
                {affiliation}
              </span>
            </span>
          </div>
          <LanguageSwitch className="on-dark" />
          <button type="button" className="btn btn-ghost on-dark" data-testid="logout" onClick={onLogout} disabled={leaving}>
            {leaving ? t("shell.loggingOut") : t("shell.logout")}
          </button>
        </div>
      </header>
      <div className="shell-body">
        <nav className="sidenav" data-testid="nav" aria-label={t("shell.nav")}>
          <ul>
            {navFor(user.role).map((item) => (
              <li key={item.key}>
                <NavLink
                  to={item.path}
                  end={item.path === "/"}
                  data-testid={`nav-${item.key}`}
                  className={({ isActive }) => (isActive ? "nav-link active" : "nav-link")}
                >
                  {t(item.titleKey)}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <main className="content" id="main">
          <Outlet />
        </main>
      </div>
    </div>
  );
}
