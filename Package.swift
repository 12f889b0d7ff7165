// swift-tools-version: 6.0
import PackageDescription

// texfield: intrinsic neural fields on triangle meshes.
// System libraries come in through pkg-config (no unsafe build flags, no absolute paths),
// so that other packages can depend on texfield's libraries.
let package = Package(
    name: "texfield",
    products: [
        .library(name: "Support", targets: ["Support"]),
        .library(name: "Geometry", targets: ["Geometry"]),
        .library(name: "Spectral", targets: ["Spectral"]),
        .library(name: "Imaging", targets: ["Imaging"]),
        .library(name: "Neural", targets: ["Neural"]),
        .library(name: "Render", targets: ["Render"]),
        .library(name: "TextureField", targets: ["TextureField"]),
        .library(name: "Dynamics", targets: ["Dynamics"]),
        .library(name: "GraphLearning", targets: ["GraphLearning"]),
        .library(name: "TexfieldCLI", targets: ["TexfieldCLI"]),
        .executable(name: "texfield", targets: ["texfield"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `swift package generate-documentation --target Spectral` (the DocC catalogue in Sources/Spectral).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        // System libraries.
        .systemLibrary(
            name: "CEigen", path: "Sources/CEigen", pkgConfig: "eigen3",
            providers: [.apt(["libeigen3-dev"])]),
        .systemLibrary(
            name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CLibPNG", path: "Sources/CLibPNG", pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]),

        // The C++17 shim: cotangent operators and the eigensolver, behind a pure C header.
        .target(
            name: "CTexfieldShim", dependencies: ["CEigen", "COpenBLAS", "CBLASControl"], path: "cxx-shim",
            cxxSettings: [.define("EIGEN_USE_BLAS"), .define("EIGEN_NO_DEBUG")],
            linkerSettings: [.linkedLibrary("pthread")]),

        // Small C kernels behind pure C headers, one target per consumer:
        // OpenBLAS's thread count, LAPACK's dsyevd and glibc's heap policy (Spectral, Neural, GraphLearning);
        .target(name: "CBLASControl", dependencies: ["COpenBLAS"], linkerSettings: [.linkedLibrary("pthread")]),
        // loops that need FMA/AVX2, chosen at run time (Neural's Adam, TextureField's SignNet φ and Fourier features);
        .target(name: "CNetworkKernels"),
        // the BVH and first-hit ray casting (Render).
        .target(name: "CRayKernels"),

        // Seeded randomness, atomic files and JSON conventions shared by every module.
        .target(name: "Support"),
        .target(name: "Geometry", dependencies: ["Support"]),
        .target(name: "Spectral", dependencies: ["Geometry", "Support", "CTexfieldShim", "CBLASControl"]),
        .target(name: "Imaging", dependencies: ["Support", "CLibPNG"]),
        .target(name: "Neural", dependencies: ["Support", "COpenBLAS", "CBLASControl", "CNetworkKernels"]),
        .target(name: "Render", dependencies: ["Geometry", "Imaging", "Support", "CRayKernels"]),
        .target(name: "TextureField", dependencies: ["Geometry", "Spectral", "Render", "Neural", "Imaging", "Support", "CNetworkKernels"]),
        .target(name: "Dynamics", dependencies: ["Neural", "Imaging", "Support"]),
        .target(name: "GraphLearning", dependencies: ["Neural", "Support", "CBLASControl"]),
        .target(
            name: "TexfieldCLI",
            dependencies: [
                "Geometry", "Spectral", "Imaging", "Neural", "Render", "TextureField", "Dynamics", "GraphLearning", "Support",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(name: "texfield", dependencies: ["TexfieldCLI", "CBLASControl"]),

        .testTarget(name: "SupportTests", dependencies: ["Support"]),
        .testTarget(name: "GeometryTests", dependencies: ["Geometry", "Support"]),
        .testTarget(name: "SpectralTests", dependencies: ["Spectral", "Geometry"], exclude: ["Fixtures"]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging"], exclude: ["Fixtures"]),
        .testTarget(name: "NeuralTests", dependencies: ["Neural", "Support"], exclude: ["Fixtures"]),
        .testTarget(name: "RenderTests", dependencies: ["Render", "Geometry", "Imaging", "Support"]),
        .testTarget(name: "TextureFieldTests", dependencies: ["TextureField", "Render", "Geometry", "Imaging", "Neural", "Spectral", "Support", "CNetworkKernels"]),
        .testTarget(name: "DynamicsTests", dependencies: ["Dynamics", "Neural", "Support"]),
        .testTarget(name: "GraphLearningTests", dependencies: ["GraphLearning", "Neural", "Support"]),
        .testTarget(name: "TexfieldCLITests", dependencies: ["TexfieldCLI", "TextureField", "Spectral", "Geometry", "Support"]),
    ],
    cxxLanguageStandard: .cxx17
)
