import Foundation

/// Regression losses: the mean over all entries (PyTorch's `reduction='mean'`), the gradient
/// with respect to the prediction, and each sample's (row's) mean loss.
public enum Loss: Sendable {
    case l1
    case mse
    /// PyTorch's `HuberLoss(delta)`: ½d² where |d| <= δ, else δ(|d| − ½δ).
    case huber(delta: Double)

    /// Returns (mean loss, d loss / d prediction, per-sample losses).
    public func evaluate<T: GEMMScalar>(_ prediction: Matrix<T>, _ target: Matrix<T>) -> (T, Matrix<T>, [T]) {
        precondition(prediction.rows == target.rows && prediction.columns == target.columns, "loss shape mismatch")
        let count = T(prediction.values.count)
        var grad = Matrix<T>(rows: prediction.rows, columns: prediction.columns)
        var perSample = [T](repeating: 0, count: prediction.rows)
        var total: T = 0
        for r in 0..<prediction.rows {
            var s: T = 0
            for c in 0..<prediction.columns {
                let i = r * prediction.columns + c
                let d = prediction.values[i] - target.values[i]
                switch self {
                case .l1:
                    s += abs(d)
                    grad.values[i] = (d > 0 ? 1 : (d < 0 ? -1 : 0)) / count
                case .mse:
                    s += d * d
                    grad.values[i] = 2 * d / count
                case .huber(let delta):
                    let dl = T(delta)
                    if abs(d) <= dl {
                        s += d * d / 2
                        grad.values[i] = d / count
                    } else {
                        s += dl * (abs(d) - dl / 2)
                        grad.values[i] = (d > 0 ? dl : -dl) / count
                    }
                }
            }
            perSample[r] = s / T(prediction.columns)
            total += s
        }
        return (total / count, grad, perSample)
    }
}

/// Softmax cross-entropy over class logits (PyTorch's `CrossEntropyLoss`, mean over samples).
public enum CrossEntropy {
    /// logits: batch × classes; labels in 0..<classes. Returns (mean loss, d loss / d logits,
    /// per-sample losses). Uses the max-shifted log-sum-exp.
    public static func evaluate<T: GEMMScalar>(_ logits: Matrix<T>, labels: [Int]) -> (T, Matrix<T>, [T]) {
        precondition(labels.count == logits.rows, "one label per row")
        var grad = Matrix<T>(rows: logits.rows, columns: logits.columns)
        var per = [T](repeating: 0, count: logits.rows)
        let n = T(logits.rows)
        for r in 0..<logits.rows {
            precondition(labels[r] >= 0 && labels[r] < logits.columns, "label \(labels[r]) out of range")
            var mx = logits[r, 0]
            for c in 1..<logits.columns { mx = max(mx, logits[r, c]) }
            var sum: T = 0
            for c in 0..<logits.columns { sum += T.exponential(logits[r, c] - mx) }
            let lse = mx + T(log(Double(sum)))
            per[r] = lse - logits[r, labels[r]]
            for c in 0..<logits.columns {
                let p = T.exponential(logits[r, c] - lse)
                grad[r, c] = (p - (c == labels[r] ? 1 : 0)) / n
            }
        }
        return (per.reduce(0, +) / n, grad, per)
    }
}

/// Learning-rate schedules: the factor applied to the base rate at a step.
public enum Schedule: Sendable, Equatable {
    case constant
    /// × gamma every `every` steps (PyTorch's StepLR).
    case step(every: Int, gamma: Double)
    /// Cosine from 1 to `floor` over `total` steps (PyTorch's CosineAnnealingLR with eta_min = floor·lr).
    case cosine(total: Int, floor: Double)

    public func factor(at step: Int) -> Double {
        switch self {
        case .constant: return 1
        case .step(let every, let gamma): return pow(gamma, Double(step / max(1, every)))
        case .cosine(let total, let floor):
            return Schedule.cosineFactor(progress: min(Double(step), Double(total)) / Double(max(1, total)), floor: floor)
        }
    }

    /// Cosine decay from 1 to `floor` as `progress` goes from 0 to 1 (clamped):
    /// `floor + (1 − floor) · ½ (1 + cos π t)`. The one cosine schedule of texfield.
    public static func cosineFactor(progress: Double, floor: Double) -> Double {
        floor + (1 - floor) * 0.5 * (1 + cos(Double.pi * min(1, max(0, progress))))
    }
}

/// PyTorch's ReduceLROnPlateau (mode min, relative threshold): the factor drops by `gamma`
/// after `patience` evaluations without an improvement better than `threshold`.
public struct ReduceOnPlateau: Sendable, Equatable {
    public var gamma: Double = 0.1
    public var patience: Int = 10
    public var threshold: Double = 1e-4
    public private(set) var factor: Double = 1
    var best = Double.infinity
    var bad = 0

    public init(gamma: Double = 0.1, patience: Int = 10, threshold: Double = 1e-4) {
        self.gamma = gamma; self.patience = patience; self.threshold = threshold
    }

    /// Feeds one validation value; returns the current factor.
    public mutating func observe(_ value: Double) -> Double {
        if value < best * (1 - threshold) { best = value; bad = 0 } else {
            bad += 1
            if bad > patience { factor *= gamma; bad = 0 }
        }
        return factor
    }
}

#if canImport(Glibc)
import Glibc
#endif
