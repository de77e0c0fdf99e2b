"use client";
// Query cache and tRPC client for the whole console. A call refused for want of a session sends
// the operator to the sign-in page.
import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { isTRPCClientError } from "@trpc/client";
import { useRouter } from "next/navigation";
import { type ReactNode, useState } from "react";
import { createBrowserClient, TRPCProvider } from "~/lib/trpc";

function isUnauthorized(error: unknown): boolean {
  return isTRPCClientError(error) && error.data?.code === "UNAUTHORIZED";
}

export function Providers({ children }: { children: ReactNode }) {
  const router = useRouter();
  const [queryClient] = useState(() => {
    const onError = (error: unknown) => {
      if (isUnauthorized(error)) router.replace("/sign-in?expired=1");
    };
    return new QueryClient({
      queryCache: new QueryCache({ onError }),
      mutationCache: new MutationCache({ onError }),
      defaultOptions: {
        queries: {
          staleTime: 5_000,
          retry: (count, error) => !isUnauthorized(error) && count < 2,
          refetchOnWindowFocus: false,
        },
      },
    });
  });
  const [trpcClient] = useState(createBrowserClient);
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}
