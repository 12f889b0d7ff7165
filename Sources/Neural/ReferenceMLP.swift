/// The reference intrinsic-neural-field MLP (Koestler et al. 2022; docs/ARCHITECTURE.md): 5 hidden ReLU
/// layers of width h, the 4th of which also takes the input again (Linear(h→h) + Linear(d→h),
/// each with its own bias), then Linear(h→3) and a sigmoid. 4h² + (2d + 9)h + 3 parameters:
/// 328,579 at d = 1023, h = 128.
public struct ReferenceMLP<T: GEMMScalar>: Sendable {
    public var hidden: [Linear<T>]       // d→h, h→h, h→h, h→h (4th, with the skip), h→h
    public var skip: Linear<T>           // d→h, added into the 4th hidden layer
    public var output: Linear<T>         // h→3
    var activations: [Activation<T>]
    var sigmoid = Activation<T>(.sigmoid)

    public init<G: RandomNumberGenerator>(inputs d: Int, width h: Int = 128, initializer: Initializer = .xavierUniform,
                                          using rng: inout G) {
        hidden = [Linear(inputs: d, outputs: h, initializer: initializer, using: &rng)]
        for _ in 0..<4 { hidden.append(Linear(inputs: h, outputs: h, initializer: initializer, using: &rng)) }
        skip = Linear(inputs: d, outputs: h, initializer: initializer, using: &rng)
        output = Linear(inputs: h, outputs: 3, initializer: initializer, using: &rng)
        activations = (0..<5).map { _ in Activation(.relu) }
    }

    public var parameterCount: Int { hidden.reduce(0) { $0 + $1.parameterCount } + skip.parameterCount + output.parameterCount }

    /// x: batch × d → batch × 3 in (0, 1).
    public mutating func forward(_ x: Matrix<T>) -> Matrix<T> {
        var a = x
        for l in 0..<5 {
            var z = hidden[l].forward(a)
            if l == 3 {
                let s = skip.forward(x)
                for i in z.values.indices { z.values[i] += s.values[i] }
            }
            a = activations[l].forward(z)
        }
        return sigmoid.forward(output.forward(a))
    }

    /// dy: batch × 3 → accumulates every parameter gradient.
    public mutating func backward(_ dy: Matrix<T>) {
        var g = output.backward(sigmoid.backward(dy))
        for l in stride(from: 4, through: 0, by: -1) {
            let dz = activations[l].backward(g)
            if l == 3 { _ = skip.backward(dz) }
            g = hidden[l].backward(dz)
        }
    }

    public mutating func zeroGradients() {
        for l in hidden.indices { hidden[l].zeroGradients() }
        skip.zeroGradients()
        output.zeroGradients()
    }
}
