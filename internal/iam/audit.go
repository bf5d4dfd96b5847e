package iam

import "time"

// AuditUser identifies a user who initiated a change.
type AuditUser struct {
	ID                string  `json:"id"`
	DisplayName       *string `json:"displayName"`
	UserPrincipalName *string `json:"userPrincipalName"`
	IPAddress         *string `json:"ipAddress"`
}

// AuditApp identifies an application that initiated a change.
type AuditApp struct {
	AppID                *string `json:"appId"`
	DisplayName          *string `json:"displayName"`
	ServicePrincipalID   *string `json:"servicePrincipalId"`
	ServicePrincipalName *string `json:"servicePrincipalName"`
}

// AuditInitiator is directoryAudit.initiatedBy.
type AuditInitiator struct {
	User *AuditUser `json:"user"`
	App  *AuditApp  `json:"app"`
}

// ModifiedProperty records one property change with JSON-encoded values.
type ModifiedProperty struct {
	DisplayName string  `json:"displayName"`
	OldValue    *string `json:"oldValue"`
	NewValue    *string `json:"newValue"`
}

// TargetResource is one object an audited change touched.
type TargetResource struct {
	ID                 string             `json:"id"`
	DisplayName        *string            `json:"displayName"`
	Type               string             `json:"type"`
	UserPrincipalName  *string            `json:"userPrincipalName"`
	GroupType          *string            `json:"groupType"`
	ModifiedProperties []ModifiedProperty `json:"modifiedProperties"`
}

// KeyValue is an entry of additionalDetails.
type KeyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// DirectoryAudit is one record of a change to the directory.
type DirectoryAudit struct {
	ID                  string           `json:"id"`
	Category            string           `json:"category"`
	CorrelationID       string           `json:"correlationId"`
	Result              string           `json:"result"`
	ResultReason        string           `json:"resultReason"`
	ActivityDisplayName string           `json:"activityDisplayName"`
	ActivityDateTime    time.Time        `json:"activityDateTime"`
	LoggedByService     string           `json:"loggedByService"`
	OperationType       string           `json:"operationType"`
	InitiatedBy         AuditInitiator   `json:"initiatedBy"`
	TargetResources     []TargetResource `json:"targetResources"`
	AdditionalDetails   []KeyValue       `json:"additionalDetails"`
}
