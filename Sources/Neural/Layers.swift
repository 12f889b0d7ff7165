import Support
/// A fully connected layer y = x Wᵀ + b, as PyTorch's `nn.Linear`: `weight` is
/// out × in (row-major), `bias` has `out` entries. Forward stores its input for backward;
/// gradients accumulate with `+=` until `zeroGradients()`.
public struct Linear<T: GEMMScalar>: Sendable {
    public var weight: Matrix<T>
    public var bias: [T]?
    public var weightGradient: Matrix<T>
    public var biasGradient: [T]?
    var input: Matrix<T>?

    public var inputs: Int { weight.columns }
    public var outputs: Int { weight.rows }
    public var parameterCount: Int { weight.values.count + (bias?.count ?? 0) }

    /// Weights from `initializer`; bias (when `bias` is true) uniform in ±1/√in as PyTorch's default.
    public init<G: RandomNumberGenerator>(inputs: Int, outputs: Int, bias: Bool = true,
                                          initializer: Initializer = .pytorchDefault, using rng: inout G) {
        weight = Matrix(rows: outputs, columns: inputs, values: initializer.weights(inputs: inputs, outputs: outputs, using: &rng))
        let bound = 1 / Double(inputs).squareRoot()
        self.bias = bias ? (0..<outputs).map { _ in T(Double.random(in: -bound..<bound, using: &rng)) } : nil
        weightGradient = Matrix(rows: outputs, columns: inputs)
        biasGradient = bias ? [T](repeating: 0, count: outputs) : nil
    }

    /// x: batch × in → batch × out.
    @_specialize(where T == Float)
    public mutating func forward(_ x: Matrix<T>) -> Matrix<T> {
        precondition(x.columns == inputs, "Linear expects \(inputs) inputs, got \(x.columns)")
        input = x
        var y = Matrix<T>(rows: x.rows, columns: outputs)
        if let b = bias {
            let o = outputs
            y.values.withUnsafeMutableBufferPointer { yp in
                b.withUnsafeBufferPointer { bp in for r in 0..<x.rows { (yp.baseAddress! + r * o).update(from: bp.baseAddress!, count: o) } }
            }
        }
        Matrix.multiply(x, weight, transposeB: true, into: &y, beta: bias == nil ? 0 : 1)
        return y
    }

    /// dy: batch × out → dx: batch × in; accumulates dW += dyᵀ x and db += Σ_rows dy.
    @_specialize(where T == Float)
    public mutating func backward(_ dy: Matrix<T>) -> Matrix<T> {
        guard let x = input else { preconditionFailure("backward before forward") }
        Matrix.multiply(dy, x, transposeA: true, into: &weightGradient, beta: 1)
        if var g = biasGradient {
            biasGradient = nil  // g is the only reference: no copy
            let o = outputs
            g.withUnsafeMutableBufferPointer { gp in
                dy.values.withUnsafeBufferPointer { dp in
                    for r in 0..<dy.rows { for c in 0..<o { gp[c] += dp[r * o + c] } }
                }
            }
            biasGradient = g
        }
        var dx = Matrix<T>(rows: dy.rows, columns: inputs)
        Matrix.multiply(dy, weight, into: &dx)
        return dx
    }

    @_specialize(where T == Float)
    public mutating func zeroGradients() {
        for i in weightGradient.values.indices { weightGradient.values[i] = 0 }
        if biasGradient != nil { for i in biasGradient!.indices { biasGradient![i] = 0 } }
    }
}

/// Weight initialisers. All draw from an explicitly passed, seeded generator.
public enum Initializer: Sendable {
    /// PyTorch's `nn.Linear` default: kaiming_uniform(a = √5), i.e. uniform in ±1/√in.
    case pytorchDefault
    /// Glorot/Xavier uniform: ±√(6 / (in + out)).
    case xavierUniform
    /// Glorot/Xavier normal: N(0, 2 / (in + out)).
    case xavierNormal
    /// He/Kaiming normal for ReLU: N(0, 2 / in).
    case kaimingNormal

    func weights<T: GEMMScalar, G: RandomNumberGenerator>(inputs: Int, outputs: Int, using rng: inout G) -> [T] {
        let count = inputs * outputs
        func normal(_ std: Double) -> [T] {
            (0..<count).map { _ in T(rng.nextGaussian(standardDeviation: std)) }
        }
        switch self {
        case .pytorchDefault:
            let b = 1 / Double(inputs).squareRoot()
            return (0..<count).map { _ in T(Double.random(in: -b..<b, using: &rng)) }
        case .xavierUniform:
            let b = (6 / Double(inputs + outputs)).squareRoot()
            return (0..<count).map { _ in T(Double.random(in: -b..<b, using: &rng)) }
        case .xavierNormal: return normal((2 / Double(inputs + outputs)).squareRoot())
        case .kaimingNormal: return normal((2 / Double(inputs)).squareRoot())
        }
    }
}

/// Element-wise activations; forward stores what backward needs.
public struct Activation<T: GEMMScalar>: Sendable {
    public enum Kind: Sendable { case relu, leakyRelu(slope: Double), silu, sigmoid, tanh }
    public let kind: Kind
    var stored: Matrix<T>?

    public init(_ kind: Kind) { self.kind = kind }

    @_specialize(where T == Float)
    public mutating func forward(_ x: Matrix<T>) -> Matrix<T> {
        var y = x
        switch kind {
        case .relu:
            y.values.withUnsafeMutableBufferPointer { yp in for i in yp.indices where yp[i] < 0 { yp[i] = 0 } }
            stored = x
        case .leakyRelu(let slope):
            for i in y.values.indices where y.values[i] < 0 { y.values[i] *= T(slope) }
            stored = x
        case .silu:  // x · sigmoid(x)
            for i in y.values.indices { y.values[i] = x.values[i] / (1 + T.exponential(-x.values[i])) }
            stored = x
        case .sigmoid:
            for i in y.values.indices { y.values[i] = 1 / (1 + T.exponential(-x.values[i])) }
            stored = y
        case .tanh:
            for i in y.values.indices { let e = T.exponential(2 * x.values[i]); y.values[i] = (e - 1) / (e + 1) }
            stored = y
        }
        return y
    }

    @_specialize(where T == Float)
    public func backward(_ dy: Matrix<T>) -> Matrix<T> {
        guard let s = stored else { preconditionFailure("backward before forward") }
        var dx = dy
        switch kind {
        case .relu:
            dx.values.withUnsafeMutableBufferPointer { dp in
                s.values.withUnsafeBufferPointer { sp in for i in dp.indices where !(sp[i] > 0) { dp[i] = 0 } }
            }
        case .leakyRelu(let slope): for i in dx.values.indices where !(s.values[i] > 0) { dx.values[i] *= T(slope) }
        case .silu:
            for i in dx.values.indices {
                let sg = 1 / (1 + T.exponential(-s.values[i]))
                dx.values[i] *= sg * (1 + s.values[i] * (1 - sg))
            }
        case .sigmoid: for i in dx.values.indices { dx.values[i] *= s.values[i] * (1 - s.values[i]) }
        case .tanh: for i in dx.values.indices { dx.values[i] *= 1 - s.values[i] * s.values[i] }
        }
        return dx
    }
}

#if canImport(Glibc)
import Glibc
#endif
