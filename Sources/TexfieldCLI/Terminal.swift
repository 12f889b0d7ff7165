import ArgumentParser
import Foundation
import Support

#if canImport(Glibc)
import Glibc
#endif

/// Terminal output helpers for the commands (the library modules never print).
enum Terminal {
    static var stderrIsTTY: Bool { isatty(2) != 0 }

    static func error(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

    /// A one-line progress bar on stderr, redrawn in place; silent when stderr is not a TTY.
    final class ProgressBar: @unchecked Sendable {
        let label: String
        let enabled: Bool
        let start = Date()
        var lastDraw = Date.distantPast
        let lock = NSLock()

        init(label: String, enabled: Bool) {
            self.label = label
            self.enabled = enabled && Terminal.stderrIsTTY
        }

        func update(_ fraction: Double, detail: String = "") {
            guard enabled else { return }
            lock.lock(); defer { lock.unlock() }
            let now = Date()
            if now.timeIntervalSince(lastDraw) < 0.1 && fraction < 1 { return }
            lastDraw = now
            let width = 30
            let filled = Int(clamping: (fraction * Double(width)).rounded(.down), to: 0...width)
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            let elapsed = now.timeIntervalSince(start)
            let eta = fraction > 0.02 ? elapsed * (1 - fraction) / fraction : .nan
            let etaText = eta.isFinite ? String(format: " ETA %.0fs", eta) : ""
            let line = String(format: "\r%@ [%@] %3.0f%% %.1fs%@%@\u{1B}[K", label, bar, fraction * 100, elapsed, etaText,
                              detail.isEmpty ? "" : "  " + detail)
            FileHandle.standardError.write(Data(line.utf8))
        }

        func finish() {
            guard enabled else { return }
            FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        }
    }
}

/// Formats a duration for the summaries.
func formatSeconds(_ s: Double) -> String {
    s < 1 ? String(format: "%.0f ms", s * 1000) : String(format: "%.2f s", s)
}


/// Creates an output folder, with an error that names it.
func makeOutputFolder(_ path: String) throws {
    do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
        throw CommandError("cannot create output folder \(path): \((error as NSError).localizedFailureReason ?? error.localizedDescription)")
    }
}

/// Mean and sample standard deviation (0 for a single value): the ± of the experiment tables.
func meanAndDeviation(_ x: [Double]) -> (mean: Double, deviation: Double) { SampleStatistics.meanAndDeviation(x) }
func confidenceHalfWidth95(_ x: [Double]) -> Double? { SampleStatistics.confidenceHalfWidth95(x) }
func spearman(_ a: [Double], _ b: [Double]) -> Double? { SampleStatistics.spearman(a, b) }
