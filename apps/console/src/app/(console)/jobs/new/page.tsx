import type { Metadata } from "next";
import { SubmitJob } from "./submit-job";

export const metadata: Metadata = { title: "Submit a job" };

export default function NewJobPage() {
  return <SubmitJob />;
}
