// The one file that names the components of the server's OpenAPI document. Every request body and JSON
// answer the UI sends or reads is typed from src/generated/openapi.d.ts (`npm run api-types`, generated
// from the server's pydantic models in every build), never copied by hand: a changed field of an answer
// the UI reads fails `tsc`. The rest of the app imports these names (through types.ts and apis/*.ts), so
// when a server model is renamed (the generator names clashing models by their module, e.g.
// `server__api__schemas__cases__Colleague`, later `StaffMember`) only this file changes.

import type { components } from "./generated/openapi";

export type Schemas = components["schemas"];

// ---- identity, community ------------------------------------------------------------------------
export type Role = Schemas["Role"];
export type Tier = Schemas["Tier"];
export type CentreKind = Schemas["CentreKind"];
export type User = Schemas["User"];
export type Session = Schemas["Session"];
export type LoginBody = Schemas["LoginBody"];
/** A colleague as referrals, teaching and the outreach timetable name them. */
export type Person = Schemas["Person"];
export type NamedRef = Schemas["NamedRef"];
export type TieredInstitution = Schemas["TieredInstitution"];

// ---- cases, worklist, reports, notifications ------------------------------------------------------
export type CaseKind = Schemas["CaseKind"];
export type CaseStatus = Schemas["CaseStatus"];
export type Urgency = Schemas["Urgency"];
/** Every step of a case's lifecycle the server knows (user actions and the platform's own). */
export type CaseLifecycleAction = Schemas["Action"];
export type CasePatient = Schemas["CasePatient"];
export type CaseSummary = Schemas["CaseSummary"];
/**
 * A colleague as cases, their events and reports name them; taken from where it is used, so the name
 * the generator gives the model (it has been renamed to resolve clashes) does not matter.
 */
export type CaseColleague = NonNullable<CaseSummary["assigned_to"]>;
export type CaseList = Schemas["CaseList"];
export type CaseDetail = Schemas["CaseDetail"];
export type CaseEvent = Schemas["CaseEventOut"];
export type CaseEventList = Schemas["CaseEventList"];
export type CaseActionBody = Schemas["CaseActionBody"];
export type CaseActionResult = Schemas["CaseActionResult"];
export type CreateCaseBody = Schemas["CreateCaseBody"];
export type NewPatientBody = Schemas["NewPatientBody"];
export type WorklistItem = Schemas["WorklistItem"];
export type Worklist = Schemas["Worklist"];
export type WorklistSort = Schemas["Sort"];
export type Report = Schemas["ReportOut"];
export type ReportList = Schemas["ReportList"];
export type ReportStatus = Schemas["ReportStatus"];
export type ReportDraftBody = Schemas["ReportDraftBody"];
export type ReportTemplate = Schemas["ReportTemplate"];
export type ReportField = Schemas["ReportTemplateField"];
export type NotificationKind = Schemas["NotificationKind"];
export type Notification = Schemas["NotificationOut"];
export type NotificationList = Schemas["NotificationList"];

// ---- imaging: studies, annotations, share links, DICOMweb, uploads --------------------------------
export type CaseStudy = Schemas["CaseStudy"];
export type CaseStudies = Schemas["CaseStudies"];
export type AnnotationInput = Schemas["AnnotationInput"];
export type Annotation = Schemas["Annotation"];
export type Annotations = Schemas["Annotations"];
export type AnnotationsInput = Schemas["AnnotationsInput"];
export type ShareScope = Schemas["ShareScope"];
export type ShareLink = Schemas["ShareLink"];
export type ShareLinks = Schemas["ShareLinks"];
export type ShareLinkInput = Schemas["ShareLinkInput"];
export type CreatedShareLink = Schemas["CreatedShareLink"];
export type SharedLinkInfo = Schemas["SharedLinkInfo"];
/** A DICOM JSON dataset (PS3.18 F.2): 8-hex tag → {vr, Value}. */
export type DicomDataset = Schemas["DicomDataset"];
export type DicomDatasets = Schemas["DicomDatasets"];
export type Upload = Schemas["Upload"];

// ---- ECG ------------------------------------------------------------------------------------------
export type Ecg = Schemas["Ecg"];
export type Ecgs = Schemas["Ecgs"];
export type EcgDetail = Schemas["EcgDetail"];
export type EcgMeasurements = Schemas["EcgMeasurements"];
export type EcgSamples = Schemas["EcgSamples"];
export type StoredEcg = Schemas["StoredEcg"];

// ---- slides ---------------------------------------------------------------------------------------
export type Slide = Schemas["Slide"];
export type Slides = Schemas["Slides"];
export type StoredSlide = Schemas["StoredSlide"];
export type SlideAnnotation = Schemas["SlideAnnotation"];
export type SlideAnnotations = Schemas["SlideAnnotations"];
export type SlideAnnotationInput = Schemas["SlideAnnotationInput"];
export type SlideAnnotationsInput = Schemas["SlideAnnotationsInput"];

// ---- directory ------------------------------------------------------------------------------------
export type ColleagueList = Schemas["ColleagueList"];
/** An active reader or expert of the caller's medical community (GET /api/directory/colleagues). */
export type DirectoryColleague = ColleagueList["items"][number];
export type PatientSummary = Schemas["PatientSummary"];
export type PatientList = Schemas["PatientList"];

// ---- billing --------------------------------------------------------------------------------------
export type PriceTier = Schemas["PriceTier"];
export type SettlementRule = Schemas["SettlementRule"];
export type StatementState = Schemas["StatementState"];
export type ServicePrice = Schemas["ServicePriceEntry"];
export type Catalogue = Schemas["Catalogue"];
export type PriceBody = Schemas["PriceBody"];
export type Agreement = Schemas["Agreement"];
export type AgreementList = Schemas["AgreementList"];
export type AgreementBody = Schemas["AgreementBody"];
export type StatementLine = Schemas["StatementLine"];
export type Statement = Schemas["StatementEntry"];
export type StatementList = Schemas["StatementList"];
export type StatementsBody = Schemas["StatementsBody"];
export type ReaderWorkload = Schemas["ReaderWorkloadEntry"];
export type Workload = Schemas["Workload"];

// ---- dashboard ------------------------------------------------------------------------------------
export type Bilingual = Schemas["Bilingual"];
export type ChartPoint = Schemas["ChartPoint"];
export type ChartSeries = Schemas["ChartSeries"];
export type Indicator = Schemas["Indicator"];
export type Dashboard = Schemas["Dashboard"];

// ---- referrals, follow-up -------------------------------------------------------------------------
export type ReferralState = Schemas["ReferralState"];
export type ReferralAction = Schemas["ReferralAction"];
export type ReferralDirection = Schemas["ReferralDirection"];
export type ReferralSide = Schemas["Side"];
export type SlotKind = Schemas["SlotKind"];
export type Slot = Schemas["Slot"];
export type SlotList = Schemas["SlotList"];
export type ReferralSummary = Schemas["ReferralSummary"];
export type ReferralList = Schemas["ReferralList"];
export type ReferralRecord = Schemas["ReferralRecord"];
export type ReferralNoteKind = Schemas["ReferralNoteKind"];
export type ReferralNote = Schemas["ReferralNoteItem"];
export type ReferralNoteIn = Schemas["ReferralNoteIn"];
export type NoteCreated = Schemas["NoteCreated"];
export type ReferralUpIn = Schemas["ReferralUpIn"];
export type ReferralDownIn = Schemas["ReferralDownIn"];
export type ReferralStepIn = Schemas["ReferralStepIn"];
export type IdentityDocument = Schemas["IdentityDocument"];
export type IdentityCheckIn = Schemas["IdentityCheckIn"];
export type IdentityCheckResult = Schemas["IdentityCheckResult"];
export type TriageColour = Schemas["TriageColour"];
export type FollowUpPlanIn = Schemas["FollowUpPlanIn"];
export type ColourMeaning = Schemas["ColourMeaning"];
export type ColourChangeIn = Schemas["ColourChangeIn"];
export type FollowUpEntry = Schemas["FollowUpEntry"];
export type FollowUpDetail = Schemas["FollowUpDetail"];
export type FollowUpList = Schemas["FollowUpList"];

// ---- teaching, consults ---------------------------------------------------------------------------
export type TeachingKind = Schemas["TeachingKind"];
export type LibraryItemSummary = Schemas["ListedItem"];
export type LibraryItems = Schemas["Items"];
export type LibraryItem = Schemas["Item"];
export type Chapter = Schemas["Chapter"];
export type LibraryMedia = Schemas["ItemMedia"];
export type LibraryMaterial = Schemas["Material"];
export type ScheduledSession = Schemas["ScheduledSessionEntry"];
export type Timetable = Schemas["Timetable"];
export type RtcConfig = Schemas["RtcConfig"];

// ---- audit ----------------------------------------------------------------------------------------
export type AuditEvent = Schemas["AuditEvent"];
export type AuditEvents = Schemas["AuditEvents"];
