// swift-tools-version: 6.0
import PackageDescription

// libFuzzer harnesses for every reader of untrusted files. Built only by scripts/fuzz, which
// passes the sanitizer flags on the command line (-sanitize=fuzzer,address -parse-as-library):
// no unsafe flags live in any manifest. One binary; TEXFIELD_FUZZ_TARGET picks the reader.
let package = Package(
    name: "texfield-fuzz",
    dependencies: [
        .package(name: "texfield", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "texfield-fuzz",
            dependencies: [
                .product(name: "Support", package: "texfield"),
                .product(name: "Geometry", package: "texfield"),
                .product(name: "Spectral", package: "texfield"),
                .product(name: "Imaging", package: "texfield"),
                .product(name: "Neural", package: "texfield"),
                .product(name: "Render", package: "texfield"),
                .product(name: "TextureField", package: "texfield"),
                .product(name: "Dynamics", package: "texfield"),
                .product(name: "GraphLearning", package: "texfield"),
            ]),
    ]
)
