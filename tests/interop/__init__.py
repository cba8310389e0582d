"""Independent DICOM peers against the platform: dcmtk, odil, dicomweb-client, DIMSE, wsidicomizer."""
