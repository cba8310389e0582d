// Labels of referral states and actions; unknown values (a newer server) are shown as they come.

import type { TFunction } from "i18next";
import { isKnown } from "../../types";
import { PRIORITY_FLAGS, REFERRAL_ACTIONS, REFERRAL_STATES, SLOT_KINDS } from "../../apis/referrals";

export function stateLabel(state: string, t: TFunction): string {
  return isKnown(REFERRAL_STATES, state) ? t(`referral.states.${state}`) : state;
}

export function actionLabel(action: string, t: TFunction): string {
  return isKnown(REFERRAL_ACTIONS, action) ? t(`referral.actions.${action}`) : action;
}

export function priorityLabel(flag: string, t: TFunction): string {
  return isKnown(PRIORITY_FLAGS, flag) ? t(`referral.priority.${flag}`) : flag;
}

export function slotKindLabel(kind: string, t: TFunction): string {
  return isKnown(SLOT_KINDS, kind) ? t(`referral.slotKinds.${kind}`) : kind;
}
