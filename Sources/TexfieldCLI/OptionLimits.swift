import ArgumentParser

/// Upper and lower bounds of every numeric option, checked before a value becomes a size, a
/// count or a loop bound (an unbounded `--batch` or `--count` used to end in "failed to
/// allocate"). The limits are documented in the README ("Limits and safety").
enum OptionLimits {
    /// Throws `ValidationError` naming `option` and the value unless `value` lies in `range`.
    static func check(_ option: String, _ value: Int, _ range: ClosedRange<Int>) throws {
        guard range.contains(value) else { throw ValidationError("\(option) \(value): must be in \(range.lowerBound)...\(range.upperBound)") }
    }

    static func check(_ option: String, _ value: Int?, _ range: ClosedRange<Int>) throws {
        if let v = value { try check(option, v, range) }
    }

    /// Finite and in `range` (NaN and ±inf are refused with the option's name).
    static func check(_ option: String, _ value: Double, _ range: ClosedRange<Double>) throws {
        guard value.isFinite, range.contains(value) else {
            throw ValidationError("\(option) \(value): must be a finite number in [\(range.lowerBound), \(range.upperBound)]")
        }
    }

    static func check(_ option: String, _ value: Double?, _ range: ClosedRange<Double>) throws {
        if let v = value { try check(option, v, range) }
    }

    /// The views a run renders, in pixels: bounded so that the rendered ground truth fits in
    /// memory (2²⁷ pixels ≈ 1.6 GB of colour and rays).
    static let maxRenderedPixels = 1 << 27

    static func checkRendered(views: Int, size: Int) throws {
        let (pixels, o1) = size.multipliedReportingOverflow(by: size)
        let (total, o2) = views.multipliedReportingOverflow(by: pixels)
        guard !o1, !o2, total <= maxRenderedPixels else {
            throw ValidationError("\(views) views of \(size)² pixels exceed the limit of \(maxRenderedPixels) rendered pixels; use fewer views or a smaller --size")
        }
    }

    // Shared bounds.
    static let views = 1...1000
    static let steps = 1...1_000_000_000
    static let learningRate = 1e-12...1e3
    static let seeds = 1...1000
    static let epochs = 1...10_000_000
}
