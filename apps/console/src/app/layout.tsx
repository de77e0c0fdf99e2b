import type { Metadata, Viewport } from "next";
import type { ReactNode } from "react";
import { Providers } from "~/components/providers";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Nightshift console", template: "%s · Nightshift" },
  description: "Operate a fleet of parked electric cars as one inference cloud.",
};

export const viewport: Viewport = { width: "device-width", initialScale: 1 };

// The theme the operator picked last (light or dark), applied before the first paint.
const THEME_SCRIPT = `try{var t=localStorage.getItem("nightshift-theme");if(t==="light"||t==="dark")document.documentElement.dataset.theme=t}catch(e){}`;

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en" suppressHydrationWarning>
      <head>
        <script dangerouslySetInnerHTML={{ __html: THEME_SCRIPT }} />
      </head>
      <body>
        <Providers>{children}</Providers>
      </body>
    </html>
  );
}
