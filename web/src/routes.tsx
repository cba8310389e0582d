// Which pages exist, which roles may open them, and the left navigation per role.
// To add a real page: write it in src/pages/, then set `component` below.

import type { ComponentType } from "react";
import type { Role } from "./types";
import CaseListPage from "./pages/CaseListPage";
import CaseImagesPage from "./pages/CaseImagesPage";
import CasePage from "./pages/CasePage";
import NewRequestPage from "./pages/NewRequestPage";
import WorklistPage from "./pages/WorklistPage";
import LazyViewerPage from "./pages/LazyViewerPage";
import { VIEWER_ROLES } from "./viewer/roles";

export type PageKey =
  | "home"
  | "myCases"
  | "newRequest"
  | "referrals"
  | "followUp"
  | "worklist"
  | "reports"
  | "dispatch"
  | "consults"
  | "teaching"
  | "dashboard"
  | "institutions"
  | "audit"
  // Pages without a nav item: reached from the case list.
  | "case"
  | "caseImages"
  | "viewer";

export interface PageDef {
  key: PageKey;
  path: string;
  /** Translation key of the page title and nav label. */
  titleKey: `nav.${PageKey}`;
  roles: readonly Role[];
  /** Undefined: the page is not built yet and shows the "coming soon" panel. */
  component?: ComponentType<{ page: PageDef }>;
}

/** Roles whose home page is the case list. Others are sent to their first nav item. */
export const CASE_LIST_HOME_ROLES: readonly Role[] = ["requester", "reader", "dispatcher", "expert", "admin"];

function page(key: PageKey, path: string, roles: readonly Role[], component?: PageDef["component"]): PageDef {
  return { key, path, titleKey: `nav.${key}`, roles, component };
}

export const PAGES: Record<PageKey, PageDef> = {
  home: page("home", "/", CASE_LIST_HOME_ROLES, CaseListPage),
  myCases: page("myCases", "/cases", ["requester"], CaseListPage),
  newRequest: page("newRequest", "/requests/new", ["requester"], NewRequestPage),
  referrals: page("referrals", "/referrals", ["requester"]),
  followUp: page("followUp", "/follow-up", ["requester"]),
  worklist: page("worklist", "/worklist", ["reader", "dispatcher"], WorklistPage),
  reports: page("reports", "/reports", ["reader"]),
  dispatch: page("dispatch", "/dispatch", ["dispatcher"]),
  consults: page("consults", "/consults", ["expert"], WorklistPage),
  teaching: page("teaching", "/teaching", ["trainee"]),
  dashboard: page("dashboard", "/dashboard", ["admin"]),
  institutions: page("institutions", "/admin/institutions", ["admin"]),
  audit: page("audit", "/audit", ["auditor"]),
  case: page("case", "/cases/:caseId", VIEWER_ROLES, CasePage),
  caseImages: page("caseImages", "/cases/:caseId/images", VIEWER_ROLES, CaseImagesPage),
  viewer: page("viewer", "/viewer/:studyUid", VIEWER_ROLES, LazyViewerPage),
};

const ROLE_NAV: Record<Role, readonly PageKey[]> = {
  requester: ["myCases", "newRequest", "referrals", "followUp"],
  reader: ["worklist", "reports"],
  dispatcher: ["dispatch", "worklist"],
  expert: ["consults"],
  trainee: ["teaching"],
  admin: ["dashboard", "institutions"],
  auditor: ["audit"],
};

/** Left navigation items for a role, in display order. */
export function navFor(role: Role): PageDef[] {
  const keys: PageKey[] = CASE_LIST_HOME_ROLES.includes(role) ? ["home", ...ROLE_NAV[role]] : [...ROLE_NAV[role]];
  return keys.map((key) => PAGES[key]);
}

/** Where "/" leads for roles without a case-list home. */
export function homePathFor(role: Role): string {
  return CASE_LIST_HOME_ROLES.includes(role) ? "/" : PAGES[ROLE_NAV[role][0]].path;
}
