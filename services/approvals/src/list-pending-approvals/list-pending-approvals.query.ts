/** Which pending approval requests to list; every filter is optional. */
export interface ListPendingApprovalsQuery {
  readonly tenantId?: string;
  /** Only requests asked of this reviewer group. */
  readonly group?: string;
  /** Only requests this reviewer may answer (group, tool, not yet approved by them); needs `tenantId`. */
  readonly reviewer?: string;
  /** Default 100, at most 1000. */
  readonly limit?: number;
}
