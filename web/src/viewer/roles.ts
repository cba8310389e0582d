import type { Role } from "../types";

/** Roles that may open a case's images and the viewer (the server's clinical roles for DICOMweb). */
export const VIEWER_ROLES: readonly Role[] = ["requester", "reader", "dispatcher", "expert", "admin"];
