// Fees and settlement (server/api/billing.py). Money in integer fen, rates in integer basis points.

import { request } from "../api";
import type {
  Agreement,
  AgreementBody,
  AgreementList,
  Catalogue,
  PriceBody,
  PriceTier,
  ReaderWorkload,
  ServicePrice,
  SettlementRule,
  Statement,
  StatementList,
  StatementsBody,
  StatementState,
  Workload,
} from "../schema";
import { allOf } from "../types";

export type {
  Agreement,
  AgreementBody as AgreementInput,
  NamedRef as NamedInstitution,
  PriceTier,
  ReaderWorkload,
  ServicePrice,
  SettlementRule,
  Statement,
  StatementLine,
  StatementState,
} from "../schema";

export const PRICE_TIERS = allOf<PriceTier>()(["tertiary", "secondary", "primary"]);

export const SETTLEMENT_RULES = allOf<SettlementRule>()(["discount", "rebate"]);

export const STATEMENT_STATES = allOf<StatementState>()(["submitted", "checked", "invoiced"]);

export async function listCatalogue(signal?: AbortSignal): Promise<ServicePrice[]> {
  return (await request<Catalogue>("GET", "/api/billing/catalogue", { signal })).items ?? [];
}

export async function setPrice(code: string, tier: PriceTier, priceFen: number, name?: string): Promise<ServicePrice> {
  const path = `/api/billing/catalogue/${encodeURIComponent(code)}/${tier}`;
  const body: PriceBody = { price_fen: priceFen, ...(name ? { name } : {}) };
  return request<ServicePrice>("PUT", path, { body });
}

export async function listAgreements(signal?: AbortSignal): Promise<Agreement[]> {
  return (await request<AgreementList>("GET", "/api/billing/agreements", { signal })).items ?? [];
}

export async function saveAgreement(input: AgreementBody): Promise<Agreement> {
  return request<Agreement>("POST", "/api/billing/agreements", { body: input });
}

export async function listStatements(month: string | null, signal?: AbortSignal): Promise<Statement[]> {
  const query = month ? `?month=${encodeURIComponent(month)}` : "";
  return (await request<StatementList>("GET", `/api/billing/statements${query}`, { signal })).items ?? [];
}

/** A member unit's sheets for a past month, one per provider; an admin names the member unit. */
export async function submitStatements(month: string, memberInstitutionId?: number): Promise<Statement[]> {
  const body: StatementsBody = { month, ...(memberInstitutionId ? { member_institution_id: memberInstitutionId } : {}) };
  return (await request<StatementList>("POST", "/api/billing/statements", { body })).items ?? [];
}

export async function advanceStatement(statementId: number, step: "check" | "invoice"): Promise<Statement> {
  return request<Statement>("POST", `/api/billing/statements/${statementId}/${step}`);
}

export function statementCsvPath(statementId: number): string {
  return `/api/billing/statements/${statementId}/csv`;
}

export async function readerWorkload(month: string, signal?: AbortSignal): Promise<ReaderWorkload[]> {
  return (await request<Workload>("GET", `/api/billing/workload?month=${encodeURIComponent(month)}`, { signal })).readers ?? [];
}
