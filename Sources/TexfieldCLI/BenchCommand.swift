import ArgumentParser
import Foundation
import Imaging

/// `texfield bench …`: timings of texfield's kernels, printed in a form the comparison
/// scripts in bench/ read.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Time texfield's kernels (see bench/ for the comparisons with the Python stack).",
        subcommands: [SSIMBench.self])

    struct SSIMBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ssim", abstract: "Median time of SSIM on two RGB images (PNG files or random ones).")
        @Option(help: "First image; random when omitted.") var first: String?
        @Option(help: "Second image; random when omitted.") var second: String?
        @Option(help: "Side of the random images.") var size = 512
        @Option(name: .customLong("repeat"), help: "Repetitions.") var repetitions = 21
        @Option(help: "SSIM convention.") var ssim: SSIMConvention = .gaussian

        func run() throws {
            let a: Image, b: Image
            if let f = first, let s = second {
                a = try Image.readPNG(path: f); b = try Image.readPNG(path: s)
            } else {
                var rng = SystemRandomNumberGenerator()
                a = Image(width: size, height: size, channels: 3, pixels: (0..<(size * size * 3)).map { _ in Float.random(in: 0...1, using: &rng) })
                b = Image(width: size, height: size, channels: 3, pixels: a.pixels.map { min(1, max(0, $0 + Float.random(in: -0.1...0.1, using: &rng))) })
            }
            var times = [Double]()
            var value = 0.0
            for _ in 0..<max(1, repetitions) {
                let t = Date()
                value = try Metrics.ssim(a, b, convention: ssim)
                times.append(Date().timeIntervalSince(t))
            }
            times.sort()
            print(String(format: "ssim %@ %dx%d: median %.2f ms, min %.2f ms (value %.9f)", ssim.rawValue, a.width, a.height,
                         times[times.count / 2] * 1000, times[0] * 1000, value))
        }
    }
}
