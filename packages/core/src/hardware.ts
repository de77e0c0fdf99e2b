// In-car AI computers and the datacenter GPU used as the unit of "H100 equivalents".
// Every figure cites where it comes from; where no public figure exists the `source` says what
// was assumed. TOPS are INT8 tera-operations per second.
//
// Caveat on comparability: `HardwareProfile.peakTops` is meant to be a dense figure. NVIDIA's
// automotive headline numbers (Orin 254, Thor 1,000 INT8 TOPS) are, as far as NVIDIA's own Jetson
// datasheets show for the same silicon, counted with 2:4 structured sparsity, i.e. about twice the
// dense rate. They are used here as published; the `source` of each says so. H100 uses its dense
// figure (its sparse one is 3,958).
import type { HardwareProfile } from "./types";

export const HARDWARE: Readonly<Record<string, HardwareProfile>> = Object.freeze({
  "fsd-hw3": {
    id: "fsd-hw3",
    name: "Tesla FSD Computer (HW3)",
    peakTops: 144,
    inferencePowerW: 72,
    memoryGB: 8,
    year: 2019,
    source:
      "Tesla Autonomy Day (22 Apr 2019): 144 TOPS for the board (two FSD chips, 72 TOPS each), 72 W " +
      "board power. 8 GB LPDDR4 as reported from teardowns. Both chips are counted: when parked, the " +
      "redundant second chip is free for work.",
  },
  "drive-orin": {
    id: "drive-orin",
    name: "NVIDIA DRIVE AGX Orin",
    peakTops: 254,
    inferencePowerW: 60,
    memoryGB: 32,
    year: 2022,
    source:
      "NVIDIA DRIVE AGX Orin product page: 254 INT8 TOPS (NVIDIA headline; the Jetson AGX Orin " +
      "datasheet counts the same kind of figure with structured sparsity, so dense is ~127). " +
      "Power: assumption, 60 W = Jetson AGX Orin's top power mode (NVIDIA publishes 15–60 W for " +
      "Jetson, no single figure for DRIVE). Memory: 32 GB LPDDR5 as on the DRIVE AGX Orin " +
      "developer kit (assumption for production cars, which vary).",
  },
  "fsd-hw4": {
    id: "fsd-hw4",
    name: "Tesla FSD Computer (HW4 / AI4)",
    peakTops: 500,
    inferencePowerW: 160,
    memoryGB: 16,
    year: 2023,
    source:
      "No official figures. Assumption from public reporting that HW4 is ~3–5x HW3: 500 TOPS " +
      "(~3.5x HW3) at 160 W (~2.2x HW3's 72 W). Memory 16 GB per autopilot processor as reported " +
      "from @greentheonly's 2023 teardown and the TFF-forum HW4 wiki.",
  },
  "drive-thor": {
    id: "drive-thor",
    name: "NVIDIA DRIVE AGX Thor",
    peakTops: 1000,
    inferencePowerW: 130,
    memoryGB: 64,
    year: 2025,
    source:
      "NVIDIA (GTC 2024): DRIVE Thor up to 1,000 INT8 TOPS / 2,000 FP4 TFLOPS (headline figures, " +
      "likely with sparsity; dense INT8 ~500). Power: assumption, 130 W = the top of Jetson AGX " +
      "Thor's published 40–130 W range (same SoC; NVIDIA publishes no DRIVE figure). Memory: " +
      "assumption, 64 GB (Jetson AGX Thor has 128 GB; automotive configurations vary).",
  },
  "ai5-class": {
    id: "ai5-class",
    name: "Next-generation ~1 kW car computer (AI5 class)",
    peakTops: 2500,
    inferencePowerW: 1000,
    memoryGB: 144,
    year: 2027,
    source:
      "Assumption. The brief's fleet figure is ~1 kW of inference per car; no official TOPS exist. " +
      "2,500 INT8 TOPS at 1,000 W (2.5 TOPS/W, a little below H100's 2.8) is our assumption, " +
      "conservative against Tesla's public claim (Q3 2025 call) of ~8x AI4's compute. Memory 144 GB " +
      "= 9x HW4's 16 GB, from the same claim of ~9x memory. Year: announced for ~2027.",
  },
  "h100-sxm": {
    id: "h100-sxm",
    name: "NVIDIA H100 SXM5 80GB",
    peakTops: 1979,
    inferencePowerW: 700,
    memoryGB: 80,
    year: 2022,
    source:
      "NVIDIA H100 Tensor Core GPU datasheet: 1,979 dense INT8 TOPS (3,958 with sparsity), " +
      "up to 700 W TDP (SXM), 80 GB HBM3. GPU board only: host CPUs, network and cooling excluded.",
  },
} satisfies Record<string, HardwareProfile>);

/** The unit of "datacenter equivalents": one H100 SXM. */
export const REFERENCE_GPU: HardwareProfile = HARDWARE["h100-sxm"] as HardwareProfile;

export function hardwareById(id: string): HardwareProfile {
  const profile = Object.hasOwn(HARDWARE, id) ? HARDWARE[id] : undefined;
  if (profile === undefined) {
    throw new Error(`unknown hardware id "${id}"; known ids: ${Object.keys(HARDWARE).join(", ")}`);
  }
  return profile;
}

/**
 * Seconds `teraOps` of inference take on this hardware when it sustains `sustainedTopsShare` of its
 * peak: the scheduler's estimate of a run on a car, and the longest run the ledger pays for.
 */
export function estimatedRunS(
  hardware: Pick<HardwareProfile, "peakTops">,
  teraOps: number,
  sustainedTopsShare: number,
): number {
  return teraOps / (hardware.peakTops * sustainedTopsShare);
}

/** How many H100s (at dense INT8 peak) a given INT8 TOPS figure is worth. */
export function h100Equivalents(tops: number): number {
  return tops / REFERENCE_GPU.peakTops;
}

export interface ReferenceDatacenter {
  name: string;
  powerMW: number;
  gpus: number;
  gpu: HardwareProfile;
  source: string;
}

export const COLOSSUS_PHASE1: ReferenceDatacenter = Object.freeze({
  name: "xAI Colossus (Memphis), phase 1",
  powerMW: 150,
  gpus: 200_000,
  gpu: REFERENCE_GPU,
  source:
    "Public reporting 2024–2025 as summarised in the product brief: 200,000 H100 GPUs, ~150 MW " +
    "(backed by Tesla Megapacks), ~300 MW after phase two. Note: 200,000 x 700 W is already 140 MW " +
    "of GPU power alone, and early reporting tied ~150 MW to the first 100,000 GPUs, so 150 MW for " +
    "200,000 understates the all-in draw; use gpus, not powerMW, for compute comparisons.",
});
