// Institutions to choose in the billing forms. The API has no list of a community's institutions, so
// the choices are gathered from what it does list: the institutions whose readers and experts perform
// services (providers), those whose cases the administrator sees (member units), and those already named
// by agreements and statements.

import { listCases } from "../../api";
import { listColleagues } from "../../apis/directory";
import type { Agreement, NamedInstitution, Statement } from "../../apis/billing";

export interface InstitutionChoices {
  providers: NamedInstitution[];
  members: NamedInstitution[];
}

function sorted(byId: Map<number, string>): NamedInstitution[] {
  return [...byId].map(([id, name]) => ({ id, name })).sort((a, b) => a.name.localeCompare(b.name, "zh-CN"));
}

export async function institutionChoices(
  agreements: Agreement[],
  statements: Statement[],
  signal?: AbortSignal,
): Promise<InstitutionChoices> {
  const [readers, experts, cases] = await Promise.all([
    listColleagues("reader", null, signal),
    listColleagues("expert", null, signal),
    listCases(signal),
  ]);
  const providers = new Map<number, string>();
  const members = new Map<number, string>();
  for (const person of [...readers, ...experts]) providers.set(person.institution.id, person.institution.name);
  for (const c of cases) members.set(c.institution.id, c.institution.name);
  for (const item of [...agreements, ...statements]) {
    providers.set(item.provider.id, item.provider.name);
    members.set(item.member.id, item.member.name);
  }
  return { providers: sorted(providers), members: sorted(members) };
}
