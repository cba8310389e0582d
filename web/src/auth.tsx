import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import * as api from "./api";
import type { User } from "./types";

export type AuthState =
  | { status: "loading" }
  | { status: "anonymous" }
  | { status: "error"; error: unknown }
  | { status: "authenticated"; user: User };

interface AuthContextValue {
  state: AuthState;
  login(username: string, password: string): Promise<User>;
  logout(): Promise<void>;
  /** Ask the server again who is logged in (after a failed /api/auth/me). */
  reload(): void;
}

const AuthContext = createContext<AuthContextValue | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<AuthState>({ status: "loading" });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    api
      .me(controller.signal)
      .then((session) =>
        setState(session ? { status: "authenticated", user: session.user } : { status: "anonymous" }),
      )
      .catch((error: unknown) => {
        if (!controller.signal.aborted) setState({ status: "error", error });
      });
    return () => controller.abort();
  }, [attempt]);

  // Any API call answering 401 means the session is gone: back to the login page.
  useEffect(() => {
    api.setUnauthorizedHandler(() => {
      api.setCsrfToken(null);
      setState({ status: "anonymous" });
    });
    return () => api.setUnauthorizedHandler(null);
  }, []);

  const login = useCallback(async (username: string, password: string) => {
    const session = await api.login(username, password);
    setState({ status: "authenticated", user: session.user });
    return session.user;
  }, []);

  const logout = useCallback(async () => {
    try {
      await api.logout();
    } catch {
      // Even if the server call fails the local session is dropped.
    }
    setState({ status: "anonymous" });
  }, []);

  const reload = useCallback(() => {
    setState({ status: "loading" });
    setAttempt((n) => n + 1);
  }, []);

  const value = useMemo(() => ({ state, login, logout, reload }), [state, login, logout, reload]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthContextValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error("useAuth must be used inside <AuthProvider>");
  return value;
}

/** The logged-in user; only valid inside the authenticated app shell. */
export function useUser(): User {
  const { state } = useAuth();
  if (state.status !== "authenticated") throw new Error("useUser needs an authenticated session");
  return state.user;
}
