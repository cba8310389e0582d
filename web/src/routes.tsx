// Which pages exist, which roles may open them, and the left navigation per role.
// To add a real page: write it in src/pages/, then set `component` below.

import type { ComponentType } from "react";
import type { Role } from "./types";
import AuditPage from "./pages/AuditPage";
import CaseListPage from "./pages/CaseListPage";
import CaseImagesPage from "./pages/CaseImagesPage";
import CasePage from "./pages/CasePage";
import NewRequestPage from "./pages/NewRequestPage";
import WorklistPage from "./pages/WorklistPage";
import LazyViewerPage from "./pages/LazyViewerPage";
import BillingPage from "./pages/BillingPage";
import StatementsPage from "./pages/StatementsPage";
import DashboardPage from "./pages/DashboardPage";
import FollowUpPage from "./pages/FollowUpPage";
import ReferralNewPage from "./pages/ReferralNewPage";
import ReferralPage from "./pages/ReferralPage";
import ReferralsPage from "./pages/ReferralsPage";
import EcgViewerPage from "./pages/EcgViewerPage";
import LazySlideViewerPage from "./pages/LazySlideViewerPage";
import ConsultRoomPage from "./pages/ConsultRoomPage";
import TeachingLibraryPage from "./pages/TeachingLibraryPage";
import TeachingLivePage from "./pages/TeachingLivePage";
import TeachingPlayerPage from "./pages/TeachingPlayerPage";
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
  | "billing"
  | "statements"
  | "referralDesk"
  | "institutions"
  | "audit"
  // Pages without a nav item: reached from the case list and the referral lists.
  | "case"
  | "caseImages"
  | "viewer"
  | "ecgViewer"
  | "slideViewer"
  | "consultRoom"
  | "teachingRoom"
  | "referral"
  | "referralNew"
  | "teachingPlayer"
  | "teachingLive";

export interface PageDef {
  key: PageKey;
  path: string;
  /** Translation key of the page title and nav label. */
  titleKey: `nav.${PageKey}`;
  roles: readonly Role[];
  /** Undefined: the page is not built yet and shows the "coming soon" panel. */
  component?: ComponentType<{ page: PageDef }>;
}

/** Who works the upper hospital's incoming referrals: its doctors, its referral office (any clinical role), the admin. */
const REFERRAL_DESK_ROLES: readonly Role[] = ["reader", "dispatcher", "expert", "admin"];

/** Who may join a case's live consult: whoever may see cases, never a trainee (docs/consults.md). */
const CONSULT_ROLES: readonly Role[] = ["requester", "reader", "dispatcher", "expert", "admin"];

/** Who may open the teaching library and watch sessions: trainees, the clinical roles, the admin (not the auditor). */
const TEACHING_ROLES: readonly Role[] = ["trainee", "requester", "reader", "dispatcher", "expert", "admin"];

/** Roles whose home page is the case list. Others are sent to their first nav item. */
export const CASE_LIST_HOME_ROLES: readonly Role[] = ["requester", "reader", "dispatcher", "expert", "admin"];

function page(key: PageKey, path: string, roles: readonly Role[], component?: PageDef["component"]): PageDef {
  return { key, path, titleKey: `nav.${key}`, roles, component };
}

export const PAGES: Record<PageKey, PageDef> = {
  home: page("home", "/", CASE_LIST_HOME_ROLES, CaseListPage),
  myCases: page("myCases", "/cases", ["requester"], CaseListPage),
  newRequest: page("newRequest", "/requests/new", ["requester"], NewRequestPage),
  referrals: page("referrals", "/referrals", ["requester"], ReferralsPage),
  followUp: page("followUp", "/follow-up", ["requester"], FollowUpPage),
  referralDesk: page("referralDesk", "/referral-desk", REFERRAL_DESK_ROLES, ReferralsPage),
  worklist: page("worklist", "/worklist", ["reader", "dispatcher"], WorklistPage),
  reports: page("reports", "/reports", ["reader"], WorklistPage),
  dispatch: page("dispatch", "/dispatch", ["dispatcher"], WorklistPage),
  consults: page("consults", "/consults", ["expert"], WorklistPage),
  teaching: page("teaching", "/teaching", TEACHING_ROLES, TeachingLibraryPage),
  teachingPlayer: page("teachingPlayer", "/teaching/library/:itemId", TEACHING_ROLES, TeachingPlayerPage),
  teachingLive: page("teachingLive", "/teaching/sessions/:sessionId/live", TEACHING_ROLES, TeachingLivePage),
  dashboard: page("dashboard", "/dashboard", ["admin"], DashboardPage),
  billing: page("billing", "/admin/billing", ["admin"], BillingPage),
  statements: page("statements", "/statements", ["requester"], StatementsPage),
  institutions: page("institutions", "/admin/institutions", ["admin"]),
  audit: page("audit", "/audit", ["auditor"], AuditPage),
  case: page("case", "/cases/:caseId", VIEWER_ROLES, CasePage),
  caseImages: page("caseImages", "/cases/:caseId/images", VIEWER_ROLES, CaseImagesPage),
  viewer: page("viewer", "/viewer/:studyUid", VIEWER_ROLES, LazyViewerPage),
  ecgViewer: page("ecgViewer", "/cases/:caseId/ecgs/:ecgId", VIEWER_ROLES, EcgViewerPage),
  slideViewer: page("slideViewer", "/cases/:caseId/slides/:slideId", VIEWER_ROLES, LazySlideViewerPage),
  consultRoom: page("consultRoom", "/cases/:caseId/consult", CONSULT_ROLES, ConsultRoomPage),
  teachingRoom: page("teachingRoom", "/teaching/sessions/:sessionId/room", [...CONSULT_ROLES, "trainee"], ConsultRoomPage),
  referral: page("referral", "/referrals/:referralId", ["requester", ...REFERRAL_DESK_ROLES], ReferralPage),
  referralNew: page("referralNew", "/cases/:caseId/refer", ["requester"], ReferralNewPage),
};

const ROLE_NAV: Record<Role, readonly PageKey[]> = {
  requester: ["myCases", "newRequest", "referrals", "followUp", "statements", "teaching"],
  reader: ["worklist", "reports", "referralDesk", "teaching"],
  dispatcher: ["dispatch", "worklist", "referralDesk", "teaching"],
  expert: ["consults", "referralDesk", "teaching"],
  trainee: ["teaching"],
  admin: ["dashboard", "billing", "referralDesk", "institutions", "teaching"],
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
