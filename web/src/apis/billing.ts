// Fees and settlement (server/api/billing.py). Money in integer fen, rates in integer basis points.

import { request } from "../api";
import type { CaseKind } from "../types";

export const PRICE_TIERS = ["tertiary", "secondary", "primary"] as const;
export type PriceTier = (typeof PRICE_TIERS)[number];

export const SETTLEMENT_RULES = ["discount", "rebate"] as const;
export type SettlementRule = (typeof SETTLEMENT_RULES)[number];

export interface ServicePrice {
  code: string;
  name: string;
  case_kind: CaseKind | null;
  tier: PriceTier;
  price_fen: number;
  insurance_payable: boolean;
}

export interface NamedInstitution {
  id: number;
  name: string;
}

export interface Agreement {
  id: number;
  provider: NamedInstitution;
  member: NamedInstitution;
  service_code: string;
  rule: SettlementRule;
  rate_bp: number;
  baseline_cost_rate_bp: number;
  baseline_recorded_on: string;
  /** The baseline cost rate was recorded more than six months ago: review it. */
  baseline_review_due: boolean;
}

export interface AgreementInput {
  provider_institution_id: number;
  member_institution_id: number;
  service_code: string;
  rule: SettlementRule;
  rate_bp: number;
  baseline_cost_rate_bp: number;
  baseline_recorded_on: string;
}

export interface StatementLine {
  service_code: string;
  service_name: string;
  count: number;
  gross_fen: number;
  /** discount, rebate, or full_price when no agreement covers the code. */
  rule: SettlementRule | "full_price";
  rate_bp: number;
  baseline_cost_rate_bp: number | null;
  baseline_review_due: boolean;
  /** What the member unit owes the provider; negative: the provider pays back. */
  net_fen: number;
  insurance_payable_count: number;
}

export const STATEMENT_STATES = ["submitted", "checked", "invoiced"] as const;
export type StatementState = (typeof STATEMENT_STATES)[number];

export interface Statement {
  id: number;
  month: string;
  state: StatementState;
  member: NamedInstitution;
  provider: NamedInstitution;
  lines: StatementLine[];
  gross_fen: number;
  net_fen: number;
  submitted_at: string;
  checked_at: string | null;
  invoiced_at: string | null;
  baseline_review_due: boolean;
}

export interface ReaderWorkload {
  user_id: number;
  username: string;
  display_name: string;
  services: number;
  value_fen: number;
}

export async function listCatalogue(signal?: AbortSignal): Promise<ServicePrice[]> {
  return (await request<{ items: ServicePrice[] }>("GET", "/api/billing/catalogue", { signal })).items ?? [];
}

export async function setPrice(code: string, tier: PriceTier, priceFen: number, name?: string): Promise<ServicePrice> {
  const path = `/api/billing/catalogue/${encodeURIComponent(code)}/${tier}`;
  return request<ServicePrice>("PUT", path, { body: { price_fen: priceFen, ...(name ? { name } : {}) } });
}

export async function listAgreements(signal?: AbortSignal): Promise<Agreement[]> {
  return (await request<{ items: Agreement[] }>("GET", "/api/billing/agreements", { signal })).items ?? [];
}

export async function saveAgreement(input: AgreementInput): Promise<Agreement> {
  return request<Agreement>("POST", "/api/billing/agreements", { body: input });
}

export async function listStatements(month: string | null, signal?: AbortSignal): Promise<Statement[]> {
  const query = month ? `?month=${encodeURIComponent(month)}` : "";
  return (await request<{ items: Statement[] }>("GET", `/api/billing/statements${query}`, { signal })).items ?? [];
}

/** A member unit's sheets for a past month, one per provider; an admin names the member unit. */
export async function submitStatements(month: string, memberInstitutionId?: number): Promise<Statement[]> {
  const body = { month, ...(memberInstitutionId ? { member_institution_id: memberInstitutionId } : {}) };
  return (await request<{ items: Statement[] }>("POST", "/api/billing/statements", { body })).items ?? [];
}

export async function advanceStatement(statementId: number, step: "check" | "invoice"): Promise<Statement> {
  return request<Statement>("POST", `/api/billing/statements/${statementId}/${step}`);
}

export function statementCsvPath(statementId: number): string {
  return `/api/billing/statements/${statementId}/csv`;
}

export async function readerWorkload(month: string, signal?: AbortSignal): Promise<ReaderWorkload[]> {
  return (await request<{ readers: ReaderWorkload[] }>("GET", `/api/billing/workload?month=${encodeURIComponent(month)}`, { signal })).readers ?? [];
}
