import Foundation

/// A discrete dynamical system x_{t+1} = F(x_t) on ℝⁿ with its Jacobian: gradient descent with a
/// constant step on an objective, or any map (the logistic map for checks).
public struct IteratedMap: Sendable {
    public let dimension: Int
    public let step: @Sendable ([Double]) -> [Double]
    /// ∂F/∂x at x, row-major n × n.
    public let jacobian: @Sendable ([Double]) -> [Double]

    public init(dimension: Int, step: @escaping @Sendable ([Double]) -> [Double], jacobian: @escaping @Sendable ([Double]) -> [Double]) {
        self.dimension = dimension; self.step = step; self.jacobian = jacobian
    }
}

/// Small non-convex objectives whose gradient-descent maps show the road from convergence to
/// chaos as the step size grows.
public enum Objective: String, Sendable, CaseIterable, Codable {
    /// f(x) = (L/2) x²: GD converges iff η < 2/L (here L = 1).
    case quadratic
    /// f(x) = (x² − 1)² / 4: minima at ±1 with curvature 2, so GD stops converging at η = 1.
    case doubleWell = "double-well"
    /// f(a, b) = (ab − 1)² / 2: a factorisation with a valley of minima ab = 1; near the balanced
    /// minimum a = b = 1 the curvature is a² + b² = 2.
    case factorization
    /// A two-parameter network fitted to two points: f(w, v) = ½ Σ_i (v·tanh(w x_i) − y_i)²
    /// with (x, y) = (1, 0.8), (−0.5, −0.3).
    case tinyNet = "tiny-net"

    public var dimension: Int { self == .quadratic || self == .doubleWell ? 1 : 2 }

    /// A starting point away from the symmetric points of the objective.
    public var start: [Double] {
        switch self {
        case .quadratic: return [1]
        case .doubleWell: return [0.5]
        case .factorization: return [1.3, 0.6]
        case .tinyNet: return [0.7, 0.9]
        }
    }

    public func value(_ x: [Double]) -> Double {
        switch self {
        case .quadratic: return 0.5 * x[0] * x[0]
        case .doubleWell: let s = x[0] * x[0] - 1; return s * s / 4
        case .factorization: let r = x[0] * x[1] - 1; return r * r / 2
        case .tinyNet:
            return Objective.netData.reduce(0) { s, d in let r = x[1] * tanh(x[0] * d.0) - d.1; return s + 0.5 * r * r }
        }
    }

    public func gradient(_ x: [Double]) -> [Double] {
        switch self {
        case .quadratic: return [x[0]]
        case .doubleWell: return [x[0] * (x[0] * x[0] - 1)]
        case .factorization: let r = x[0] * x[1] - 1; return [r * x[1], r * x[0]]
        case .tinyNet:
            var g = [0.0, 0.0]
            for (xi, yi) in Objective.netData {
                let t = tanh(x[0] * xi), r = x[1] * t - yi
                g[0] += r * x[1] * (1 - t * t) * xi
                g[1] += r * t
            }
            return g
        }
    }

    /// The Hessian, row-major.
    public func hessian(_ x: [Double]) -> [Double] {
        switch self {
        case .quadratic: return [1]
        case .doubleWell: return [3 * x[0] * x[0] - 1]
        case .factorization:
            return [x[1] * x[1], 2 * x[0] * x[1] - 1, 2 * x[0] * x[1] - 1, x[0] * x[0]]
        case .tinyNet:
            var h = [0.0, 0.0, 0.0, 0.0]
            for (xi, yi) in Objective.netData {
                let t = tanh(x[0] * xi), s = 1 - t * t, r = x[1] * t - yi
                let dtdw = s * xi, d2tdw2 = -2 * t * s * xi * xi
                // f_i = ½ (v t − y)²
                h[0] += x[1] * dtdw * x[1] * dtdw + r * x[1] * d2tdw2
                let cross = t * x[1] * dtdw + r * dtdw
                h[1] += cross; h[2] += cross
                h[3] += t * t
            }
            return h
        }
    }

    static let netData: [(Double, Double)] = [(1, 0.8), (-0.5, -0.3)]

    /// Gradient descent with step η on this objective, as a map.
    public func gradientDescent(eta: Double) -> IteratedMap {
        let o = self
        let n = dimension
        return IteratedMap(dimension: n, step: { x in
            let g = o.gradient(x)
            return (0..<n).map { x[$0] - eta * g[$0] }
        }, jacobian: { x in
            let h = o.hessian(x)
            return (0..<(n * n)).map { (($0 / n) == ($0 % n) ? 1 : 0) - eta * h[$0] }
        })
    }
}

extension IteratedMap {
    /// The logistic map x ← r x (1 − x).
    public static func logistic(r: Double) -> IteratedMap {
        IteratedMap(dimension: 1, step: { [r * $0[0] * (1 - $0[0])] }, jacobian: { [r * (1 - 2 * $0[0])] })
    }

    /// The tent map x ← μ min(x, 1 − x) (Lyapunov exponent ln μ).
    public static func tent(mu: Double) -> IteratedMap {
        IteratedMap(dimension: 1, step: { [mu * min($0[0], 1 - $0[0])] }, jacobian: { [$0[0] < 0.5 ? mu : -mu] })
    }
}
