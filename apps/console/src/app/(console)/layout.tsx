// Every console page needs a session: without its cookie, go and sign in. (A session that has
// expired on the server is caught by the first refused call, in Providers.)
import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import type { ReactNode } from "react";
import { Shell } from "~/components/shell";
import { SESSION_COOKIE } from "~/server-only/env";

export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  if (!(await cookies()).get(SESSION_COOKIE)) redirect("/sign-in");
  return <Shell>{children}</Shell>;
}
