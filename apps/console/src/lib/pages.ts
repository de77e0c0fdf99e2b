// Paged lists over tRPC queries that take a `cursor`. tRPC's own infinite-query helper adds a
// `direction` field to the input, which the API's strict input schemas refuse; this sends only
// the list's own input and the cursor.
import {
  type InfiniteData,
  useInfiniteQuery,
  type UseInfiniteQueryResult,
} from "@tanstack/react-query";

interface Page<C> {
  nextCursor: C | null;
}

export function usePages<I extends object, C, P extends Page<C>>(options: {
  /** The procedure's path key (`trpc.x.y.pathKey()`), so its pathFilter() invalidates the list. */
  pathKey: readonly unknown[];
  input: I;
  /** Fetches one page; `cursor` is undefined for the first. */
  fetchPage: (input: I, cursor: C | undefined) => Promise<P>;
  refetchInterval?: number;
}): UseInfiniteQueryResult<InfiniteData<P, C | null>> {
  return useInfiniteQuery({
    queryKey: [...options.pathKey, { input: options.input, type: "pages" }],
    queryFn: ({ pageParam }) =>
      options.fetchPage(options.input, (pageParam ?? undefined) as C | undefined),
    initialPageParam: null as C | null,
    getNextPageParam: (last: P) => last.nextCursor ?? undefined,
    ...(options.refetchInterval ? { refetchInterval: options.refetchInterval } : {}),
  });
}
