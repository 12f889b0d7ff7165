/// A multilayer perceptron: Linear layers with an activation between them, an optional output
/// activation, and optionally the network's input fed again into one hidden layer through its
/// own Linear map (the intrinsic-neural-fields skip: `skipInputAt: 3` adds W_s x + b_s to the
/// 4th hidden layer's pre-activation).
///
/// `MLP(inputs: 1023, hidden: [128, 128, 128, 128, 128], outputs: 3, activation: .relu,
/// outputActivation: .sigmoid, skipInputAt: 3)` is the reference texture network (328,579
/// parameters; the same as `ReferenceMLP`).
public struct MLP<T: GEMMScalar>: Sendable {
    public var layers: [Linear<T>]
    public var skip: Linear<T>?
    public let skipInputAt: Int?
    var activations: [Activation<T>]
    var outputActivation: Activation<T>?

    public init<G: RandomNumberGenerator>(inputs: Int, hidden: [Int], outputs: Int,
                                          activation: Activation<T>.Kind = .relu,
                                          outputActivation: Activation<T>.Kind? = nil, skipInputAt: Int? = nil,
                                          initializer: Initializer = .xavierUniform, using rng: inout G) {
        let sizes = [inputs] + hidden + [outputs]
        layers = (0..<(sizes.count - 1)).map {
            Linear(inputs: sizes[$0], outputs: sizes[$0 + 1], initializer: initializer, using: &rng)
        }
        if let s = skipInputAt {
            precondition(s >= 1 && s < hidden.count, "the skip must enter a hidden layer after the first")
            skip = Linear(inputs: inputs, outputs: hidden[s], initializer: initializer, using: &rng)
        }
        self.skipInputAt = skipInputAt
        activations = hidden.map { _ in Activation(activation) }
        self.outputActivation = outputActivation.map { Activation($0) }
    }

    public var parameterCount: Int { layers.reduce(0) { $0 + $1.parameterCount } + (skip?.parameterCount ?? 0) }

    public mutating func forward(_ x: Matrix<T>) -> Matrix<T> {
        var a = x
        for l in layers.indices {
            var z = layers[l].forward(a)
            if l == skipInputAt, skip != nil {
                let s = skip!.forward(x)
                for i in z.values.indices { z.values[i] += s.values[i] }
            }
            a = l < activations.count ? activations[l].forward(z) : z
        }
        if outputActivation != nil { a = outputActivation!.forward(a) }
        return a
    }

    /// Accumulates every parameter gradient; returns the gradient with respect to the input.
    @discardableResult
    public mutating func backward(_ dy: Matrix<T>) -> Matrix<T> {
        var g = outputActivation?.backward(dy) ?? dy
        var dxSkip: Matrix<T>? = nil
        for l in stride(from: layers.count - 1, through: 0, by: -1) {
            if l < activations.count { g = activations[l].backward(g) }
            if l == skipInputAt, skip != nil { dxSkip = skip!.backward(g) }
            g = layers[l].backward(g)
        }
        if let d = dxSkip { for i in g.values.indices { g.values[i] += d.values[i] } }
        return g
    }

    public mutating func zeroGradients() {
        for l in layers.indices { layers[l].zeroGradients() }
        skip?.zeroGradients()
    }
}
