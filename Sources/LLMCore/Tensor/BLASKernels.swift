// Introduced in Chapter 00 (found while measuring Chapter 04). Which matrix-product kernels OpenBLAS runs.
//
// A "dynamic" OpenBLAS (Debian's, Ubuntu's) picks its kernels from the CPU model when it loads. A CPU newer
// than the OpenBLAS build is not in its table, and it falls back to generic SSE3 kernels ("Prescott"): on a
// 2-core AVX-512 machine, sgemm ran at 17 GFLOP/s instead of 75–180 and training 'small' at 454–521 tokens/s
// instead of 1,640–1,880 — silently, for every chapter. OpenBLAS reads its choice from OPENBLAS_CORETYPE
// when it loads, before any Swift code runs, so the fix is to restart: when the variable is unset, OpenBLAS
// chose a generic core, and the CPU's flags say it can run better ones, the program sets the variable and
// executes itself again (once; Linux only). A core OpenBLAS chose itself, or one you set, is left alone.

import CBLAS
import Foundation

public enum BLASKernels {
    /// The kernel family OpenBLAS is running ("Haswell", "SkylakeX", "Prescott", …).
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// Cores that use neither AVX2 nor FMA: what OpenBLAS falls back to for a CPU it does not know.
    static let generic: Set<String> = ["prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "katmai",
                                       "coppermine", "northwood", "banias", "athlon", "opteron", "opteron_sse3",
                                       "barcelona", "bobcat", "sandybridge", "bulldozer", "unknown"]

    /// The best OpenBLAS core for a CPU with these /proc/cpuinfo flags: "SkylakeX" with AVX-512 (F, CD, BW,
    /// DQ, VL), "Haswell" with AVX2 and FMA, nil otherwise.
    public static func bestCore(flags: Set<String>) -> String? {
        if ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains) { return "SkylakeX" }
        if flags.contains("avx2") && flags.contains("fma") { return "Haswell" }
        return nil
    }

    /// The core to restart with, or nil: only when nothing was set, OpenBLAS chose a generic core, and the
    /// CPU can do better.
    public static func upgrade(chosen: String, flags: Set<String>, environment: [String: String]) -> String? {
        if environment["OPENBLAS_CORETYPE"] != nil || environment["LLM_OPENBLAS_RESTARTED"] != nil { return nil }
        guard generic.contains(chosen.lowercased()) else { return nil }
        return bestCore(flags: flags)
    }

    /// The CPU's feature flags (Linux; empty elsewhere).
    static func cpuFlags() -> Set<String> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }

    /// Restarts the program with better kernels when `upgrade` says so; returns only when it does not (or
    /// the restart fails, which leaves the program running as it was). Call first thing in `main`.
    public static func restartWithBetterKernelsIfNeeded() {
        #if os(Linux)
        let environment = ProcessInfo.processInfo.environment
        guard let core = upgrade(chosen: coreName, flags: cpuFlags(), environment: environment) else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv("LLM_OPENBLAS_RESTARTED", "1", 1)
        var arguments = CommandLine.arguments.map { strdup($0) }
        arguments.append(nil)
        execv("/proc/self/exe", &arguments)
        // Still here: the restart failed. Carry on with the kernels we have.
        unsetenv("OPENBLAS_CORETYPE")
        for argument in arguments { free(argument) }
        #endif
    }
}
