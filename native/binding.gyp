{
  "targets": [
    {
      "target_name": "venus_native",
      "sources": ["src/addon.c", "src/sdr.c", "src/sdr_sha.c", "src/sdr_graph.c", "src/sdr_mmap.c", "src/sdr_batch.c", "src/sdr_pipe.c", "src/sdr_z16.c", "src/sdr_fill.c", "src/fr.c"],
      "cflags": ["-O3", "-std=c11", "-Wall", "-Wno-unused-function"],
      "conditions": [
        ["target_arch=='x64'", { "cflags": ["-msha", "-msse4.1", "-mssse3"] }]
      ]
    }
  ]
}
