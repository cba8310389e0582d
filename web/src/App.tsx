import type { ReactNode } from "react";
import { BrowserRouter, Navigate, Route, Routes } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { AuthProvider, useAuth, useUser } from "./auth";
import { errorMessage } from "./errors";
import { PAGES, homePathFor, type PageDef } from "./routes";
import AppShell from "./components/AppShell";
import Panel from "./components/Panel";
import LoginPage from "./pages/LoginPage";
import ComingSoonPage from "./pages/ComingSoonPage";
import SharePage from "./pages/SharePage";
import { ForbiddenPage, NotFoundPage } from "./pages/StatusPages";

function Splash() {
  const { t } = useTranslation();
  return (
    <div className="splash" role="status" data-testid="splash">
      {t("common.loading")}
    </div>
  );
}

/** Renders the app only for a logged-in user; /api/auth/me answering 401 leads to /login. */
function RequireAuth({ children }: { children: ReactNode }) {
  const { state, reload } = useAuth();
  const { t } = useTranslation();
  if (state.status === "loading") return <Splash />;
  if (state.status === "anonymous") return <Navigate to="/login" replace />;
  if (state.status === "error")
    return (
      <div className="splash">
        <Panel tone="error" title={errorMessage(state.error, t)} testId="session-error">
          <button type="button" className="btn btn-secondary" onClick={reload}>
            {t("common.retry")}
          </button>
        </Panel>
      </div>
    );
  return <>{children}</>;
}

function LoginRoute() {
  const { state } = useAuth();
  if (state.status === "loading") return <Splash />;
  if (state.status === "authenticated") return <Navigate to="/" replace />;
  return <LoginPage />;
}

/** One page of the shell, checked against the user's role. */
function PageRoute({ page }: { page: PageDef }) {
  const user = useUser();
  if (page.key === "home" && !page.roles.includes(user.role)) return <Navigate to={homePathFor(user.role)} replace />;
  if (!page.roles.includes(user.role)) return <ForbiddenPage />;
  const Component = page.component ?? ComingSoonPage;
  return <Component key={page.key} page={page} />;
}

export default function App() {
  return (
    <BrowserRouter>
      <AuthProvider>
        <Routes>
          <Route path="/login" element={<LoginRoute />} />
          {/* An outside expert's share link: no login, the token is the key to one study. */}
          <Route path="/share/:token" element={<SharePage />} />
          <Route
            element={
              <RequireAuth>
                <AppShell />
              </RequireAuth>
            }
          >
            {Object.values(PAGES).map((page) => (
              <Route key={page.key} path={page.path} element={<PageRoute page={page} />} />
            ))}
            <Route path="*" element={<NotFoundPage />} />
          </Route>
        </Routes>
      </AuthProvider>
    </BrowserRouter>
  );
}
