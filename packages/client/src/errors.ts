// Telling the server's refusals apart: every tRPC error carries a code (BAD_REQUEST, NOT_FOUND,
// UNAUTHORIZED, …) and, for bad input, the fields at fault.
import { TRPCClientError } from "@trpc/client";
import type { AppRouter } from "@nightshift/api/router";

export type ApiError = TRPCClientError<AppRouter>;

export function isApiError(error: unknown): error is ApiError {
  return error instanceof TRPCClientError;
}

/** The tRPC error code of a refusal, or null (a network failure, another error). */
export function apiErrorCode(error: unknown): string | null {
  return isApiError(error) ? (error.data?.code ?? null) : null;
}

/** The fields a BAD_REQUEST names, as `{ path, message }`; empty for other errors. */
export function apiErrorIssues(error: unknown): { path: string; message: string }[] {
  return isApiError(error) ? (error.data?.issues ?? []) : [];
}
