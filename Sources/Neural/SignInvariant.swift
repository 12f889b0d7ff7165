/// The sign-invariant encoder of SignNet (Lim et al. 2023): for a sample with k eigenvector
/// values v_1…v_k (each with `features` entries per eigenvector, e.g. the value and the
/// eigenvalue), the output is [φ(v_i) + φ(−v_i)]_{i=1…k} concatenated, with one MLP φ shared
/// by all k eigenvectors. φ runs as whole-batch GEMMs over the (batch·k) rows, not k small ones.
/// The output is unchanged by any sign flip of any v_i; feed it to ρ (any MLP).
///
/// Only the first `signed` features of each eigenvector are negated in the φ(−v) branch (the
/// eigenvector's values); the rest (e.g. its eigenvalue) are shared by both branches.
public struct SignInvariantEncoder<T: GEMMScalar>: Sendable {
    public let eigenvectors: Int
    public let features: Int
    public let signed: Int
    public var layers: [Linear<T>]
    var activations: [Activation<T>]
    var negActivations: [Activation<T>]
    var negLayers: [Linear<T>]  // copies holding the −v branch's stored inputs

    /// φ: features → hidden → … → outputs, ReLU between layers.
    public init<G: RandomNumberGenerator>(eigenvectors k: Int, features: Int = 1, signed: Int = 1,
                                          hidden: [Int], outputs: Int, using rng: inout G) {
        precondition(signed >= 1 && signed <= features)
        eigenvectors = k
        self.features = features
        self.signed = signed
        let sizes = [features] + hidden + [outputs]
        layers = (0..<(sizes.count - 1)).map { Linear(inputs: sizes[$0], outputs: sizes[$0 + 1], using: &rng) }
        activations = (0..<(sizes.count - 2)).map { _ in Activation(.relu) }
        negActivations = activations
        negLayers = layers
    }

    public var outputsPerEigenvector: Int { layers.last!.outputs }
    public var parameterCount: Int { layers.reduce(0) { $0 + $1.parameterCount } }

    /// x: batch × (k · features), eigenvector i's features at columns i·features…;
    /// returns batch × (k · outputs).
    public mutating func forward(_ x: Matrix<T>) -> Matrix<T> {
        precondition(x.columns == eigenvectors * features, "expected \(eigenvectors * features) columns")
        // The same values viewed as (batch·k) × features rows.
        let rows = Matrix<T>(rows: x.rows * eigenvectors, columns: features, values: x.values)
        var neg = rows
        for r in 0..<neg.rows { for c in 0..<signed { neg.values[r * features + c] = -neg.values[r * features + c] } }
        for l in layers.indices { negLayers[l].weight = layers[l].weight; negLayers[l].bias = layers[l].bias }
        let a = run(&layers, &activations, rows), b = run(&negLayers, &negActivations, neg)
        var out = a
        for i in out.values.indices { out.values[i] += b.values[i] }
        return Matrix(rows: x.rows, columns: eigenvectors * outputsPerEigenvector, values: out.values)
    }

    /// dy: batch × (k · outputs) → accumulates φ's gradients (both branches) and returns dx.
    public mutating func backward(_ dy: Matrix<T>) -> Matrix<T> {
        let g = Matrix<T>(rows: dy.rows * eigenvectors, columns: outputsPerEigenvector, values: dy.values)
        let da = back(&layers, activations, g), db = back(&negLayers, negActivations, g)
        for l in layers.indices {
            for i in layers[l].weightGradient.values.indices { layers[l].weightGradient.values[i] += negLayers[l].weightGradient.values[i] }
            if layers[l].biasGradient != nil {
                for i in layers[l].biasGradient!.indices { layers[l].biasGradient![i] += negLayers[l].biasGradient![i] }
            }
            negLayers[l].zeroGradients()
        }
        var dx = da
        for r in 0..<dx.rows {
            for c in 0..<features {
                let i = r * features + c
                dx.values[i] += c < signed ? -db.values[i] : db.values[i]
            }
        }
        return Matrix(rows: dy.rows, columns: eigenvectors * features, values: dx.values)
    }

    public mutating func zeroGradients() {
        for l in layers.indices { layers[l].zeroGradients(); negLayers[l].zeroGradients() }
    }

    private func run(_ ls: inout [Linear<T>], _ acts: inout [Activation<T>], _ x: Matrix<T>) -> Matrix<T> {
        var h = x
        for l in ls.indices {
            h = ls[l].forward(h)
            if l < acts.count { h = acts[l].forward(h) }
        }
        return h
    }

    private func back(_ ls: inout [Linear<T>], _ acts: [Activation<T>], _ g: Matrix<T>) -> Matrix<T> {
        var d = g
        for l in stride(from: ls.count - 1, through: 0, by: -1) {
            if l < acts.count { d = acts[l].backward(d) }
            d = ls[l].backward(d)
        }
        return d
    }
}
