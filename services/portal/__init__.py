"""The portal: product search, IVOA SSA, downloads, the processing-history website, date requests over HTTP."""
