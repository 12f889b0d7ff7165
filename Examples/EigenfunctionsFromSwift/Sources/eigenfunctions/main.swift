// Reads a mesh, computes its k smallest Laplace–Beltrami eigenpairs with texfield's Spectral
// module and writes them as NumPy files:
//
//     swift run -c release eigenfunctions MESH.obj K OUT_DIR
//
// Checks what a user would check: M-orthonormality and residuals.
import Foundation
import Geometry
import Spectral

let args = CommandLine.arguments
guard args.count == 4, let k = Int(args[2]), k >= 1 else {
    FileHandle.standardError.write(Data("usage: eigenfunctions MESH.obj K OUT_DIR\n".utf8))
    exit(2)
}
do {
    let mesh = try Mesh.readOBJ(path: args[1])
    let (basis, cached) = try Eigenbasis.loadOrCompute(mesh: mesh, options: EigenOptions(k: k), cache: nil)
    let out = args[3]
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    try NPY.write(path: out + "/eigenvalues.npy", shape: [basis.count], values: basis.values)
    try NPY.write(path: out + "/eigenvectors.npy", shape: [basis.vertexCount, basis.count], values: basis.vectors)
    print("\(mesh.vertexCount) vertices, \(basis.count) eigenpairs\(cached ? " (cached)" : ""): λ₁ = \(basis.values.count > 1 ? basis.values[1] : 0), "
          + "max residual \(basis.maxResidual), orthonormality error \(basis.orthonormalityError)")
    guard basis.maxResidual < 1e-6, basis.orthonormalityError < 1e-8 else {
        FileHandle.standardError.write(Data("eigenpairs failed their check\n".utf8))
        exit(1)
    }
    print("written: \(out)/eigenvalues.npy, \(out)/eigenvectors.npy")
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
