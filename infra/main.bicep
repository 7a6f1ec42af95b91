// ueba-narrator: everything one deployment needs next to an existing Sentinel workspace.
//
// Input: a workspace data-export rule sends the UEBA and sign-in tables to one Event Hub (one
// named hub, because a Standard namespace allows 10 hubs and there are 10 input tables plus the
// output hub; the service routes records by their `Type` column, not by hub).
// Output: the custom tables UEBA_AI_Context_CL and UEBA_AI_Audit_CL behind a kind-Direct DCR,
// an output hub for other automation, and incident comments through the Sentinel API.
// The column lists come from infra/columns/*.json, the same files the service checks rows
// against, so the table, the DCR stream and the service cannot disagree.

targetScope = 'resourceGroup'

@description('Region of the workspace; the export destination and the DCR must be in it.')
param location string = resourceGroup().location

@description('Name of the existing Log Analytics workspace with Microsoft Sentinel.')
param workspaceName string

@description('Prefix for the names of the resources created here.')
@minLength(3)
@maxLength(16)
param namePrefix string = 'ueba'

@description('Tables exported to the input hub.')
param inputTables array = [
  'BehaviorAnalytics'
  'Anomalies'
  'IdentityInfo'
  'UserPeerAnalytics'
  'SigninLogs'
  'AADNonInteractiveUserSignInLogs'
  'AuditLogs'
  'OfficeActivity'
  'SecurityAlert'
  'AzureActivity'
]

@description('Throughput units of the Event Hubs namespace (auto-inflate grows up to maxThroughputUnits).')
param throughputUnits int = 1
param maxThroughputUnits int = 4

@description('Partitions of the input hub (consumers in one group scale up to this).')
param inputPartitions int = 4

@description('Container image of ueba-narrator.')
param containerImage string

@description('Resource id of the Azure OpenAI account the LLM narrator uses; empty for offline only.')
param openAiAccountId string = ''

@description('Configuration file content (TOML) mounted at /etc/ueba-narrator/ueba.toml.')
@secure()
param configToml string = ''

@description('Retention of the custom tables, in days.')
param retentionInDays int = 90

var contextColumns = loadJsonContent('columns/ueba-ai-context.json')
var auditColumns = loadJsonContent('columns/ueba-ai-audit.json')
var inputHubName = 'ueba-input'
var outputHubName = 'ueba-narratives'
var consumerGroupName = 'ueba-narrator'

// Built-in role definition ids.
var roles = {
  eventHubsDataReceiver: 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde'
  eventHubsDataSender: '2b629674-e913-4c01-ae53-ef4638d8f975'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  cognitiveServicesOpenAiUser: '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd'
  sentinelResponder: '3e150937-b8fe-4cfb-8069-0eaf05ecd056'
}

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: workspaceName
}

// ---------------------------------------------------------------- Event Hubs

resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' = {
  name: '${namePrefix}-${uniqueString(resourceGroup().id)}'
  location: location
  sku: {
    name: 'Standard'
    tier: 'Standard'
    capacity: throughputUnits
  }
  properties: {
    isAutoInflateEnabled: true
    maximumThroughputUnits: maxThroughputUnits
    minimumTlsVersion: '1.2'
    kafkaEnabled: true
  }
}

resource inputHub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = {
  parent: namespace
  name: inputHubName
  properties: {
    partitionCount: inputPartitions
    messageRetentionInDays: 7
  }
}

resource inputConsumerGroup 'Microsoft.EventHub/namespaces/eventhubs/consumergroups@2024-01-01' = {
  parent: inputHub
  name: consumerGroupName
}

resource outputHub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = {
  parent: namespace
  name: outputHubName
  properties: {
    partitionCount: 2
    messageRetentionInDays: 7
  }
}

// ---------------------------------------------------------------- workspace export

resource dataExport 'Microsoft.OperationalInsights/workspaces/dataExports@2023-09-01' = {
  parent: workspace
  name: '${namePrefix}-ueba-export'
  properties: {
    destination: {
      resourceId: namespace.id
      metaData: {
        eventHubName: inputHub.name
      }
    }
    tableNames: inputTables
    enable: true
  }
}

// ---------------------------------------------------------------- custom tables and DCR

resource contextTable 'Microsoft.OperationalInsights/workspaces/tables@2022-10-01' = {
  parent: workspace
  name: 'UEBA_AI_Context_CL'
  properties: {
    plan: 'Analytics'
    retentionInDays: retentionInDays
    schema: {
      name: 'UEBA_AI_Context_CL'
      columns: contextColumns
    }
  }
}

resource auditTable 'Microsoft.OperationalInsights/workspaces/tables@2022-10-01' = {
  parent: workspace
  name: 'UEBA_AI_Audit_CL'
  properties: {
    plan: 'Analytics'
    retentionInDays: retentionInDays
    schema: {
      name: 'UEBA_AI_Audit_CL'
      columns: auditColumns
    }
  }
}

resource dcr 'Microsoft.Insights/dataCollectionRules@2023-03-11' = {
  name: '${namePrefix}-ai-context-dcr'
  location: location
  kind: 'Direct'
  properties: {
    streamDeclarations: {
      'Custom-UEBA_AI_Context': {
        columns: contextColumns
      }
      'Custom-UEBA_AI_Audit': {
        columns: auditColumns
      }
    }
    destinations: {
      logAnalytics: [
        {
          workspaceResourceId: workspace.id
          name: 'workspace'
        }
      ]
    }
    dataFlows: [
      {
        streams: ['Custom-UEBA_AI_Context']
        destinations: ['workspace']
        transformKql: 'source'
        outputStream: 'Custom-UEBA_AI_Context_CL'
      }
      {
        streams: ['Custom-UEBA_AI_Audit']
        destinations: ['workspace']
        transformKql: 'source'
        outputStream: 'Custom-UEBA_AI_Audit_CL'
      }
    ]
  }
  dependsOn: [
    contextTable
    auditTable
  ]
}

// ---------------------------------------------------------------- identity and roles

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${namePrefix}-narrator-id'
  location: location
}

resource receiverRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: inputHub
  name: guid(inputHub.id, identity.id, roles.eventHubsDataReceiver)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.eventHubsDataReceiver)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource senderRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: outputHub
  name: guid(outputHub.id, identity.id, roles.eventHubsDataSender)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.eventHubsDataSender)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource publisherRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: dcr
  name: guid(dcr.id, identity.id, roles.monitoringMetricsPublisher)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource responderRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: workspace
  name: guid(workspace.id, identity.id, roles.sentinelResponder)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.sentinelResponder)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

module openAiRole 'modules/openai-role.bicep' = if (!empty(openAiAccountId)) {
  name: 'ueba-openai-role'
  scope: resourceGroup(split(openAiAccountId, '/')[2], split(openAiAccountId, '/')[4])
  params: {
    accountName: last(split(openAiAccountId, '/'))
    principalId: identity.properties.principalId
    roleDefinitionId: roles.cognitiveServicesOpenAiUser
  }
}

// ---------------------------------------------------------------- Container App

resource appEnvironment 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: '${namePrefix}-env'
  location: location
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: workspace.properties.customerId
        sharedKey: workspace.listKeys().primarySharedKey
      }
    }
  }
}

resource app 'Microsoft.App/containerApps@2024-03-01' = {
  name: '${namePrefix}-narrator'
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    managedEnvironmentId: appEnvironment.id
    configuration: {
      activeRevisionsMode: 'Single'
      secrets: [
        {
          name: 'ueba-toml'
          value: empty(configToml) ? '# defaults\n' : configToml
        }
      ]
    }
    template: {
      containers: [
        {
          name: 'ueba-narrator'
          image: containerImage
          args: ['run', '--config', '/etc/ueba-narrator/ueba.toml']
          resources: {
            cpu: json('1.0')
            memory: '2Gi'
          }
          env: [
            { name: 'AZURE_CLIENT_ID', value: identity.properties.clientId }
            { name: 'UEBA__TENANT', value: workspace.properties.customerId }
            { name: 'UEBA__AUTH__CREDENTIAL', value: 'managed_identity' }
            { name: 'UEBA__AUTH__CLIENT_ID', value: identity.properties.clientId }
            { name: 'UEBA__LOGS_INGESTION__ENDPOINT', value: dcr.properties.endpoints.logsIngestion }
            { name: 'UEBA__LOGS_INGESTION__DCR_IMMUTABLE_ID', value: dcr.properties.immutableId }
            { name: 'UEBA__AMQP__URL', value: 'amqps://${namespace.name}.servicebus.windows.net:5671' }
            { name: 'UEBA__AMQP__ADDRESS', value: outputHub.name }
            { name: 'UEBA__AMQP__AUTH', value: 'cbs_jwt' }
            { name: 'UEBA__SENTINEL__SUBSCRIPTION_ID', value: subscription().subscriptionId }
            { name: 'UEBA__SENTINEL__RESOURCE_GROUP', value: resourceGroup().name }
            { name: 'UEBA__SENTINEL__WORKSPACE_NAME', value: workspace.name }
          ]
          volumeMounts: [
            { volumeName: 'config', mountPath: '/etc/ueba-narrator' }
          ]
          probes: [
            {
              type: 'Liveness'
              httpGet: { path: '/healthz', port: 8080 }
              periodSeconds: 30
            }
            {
              type: 'Readiness'
              httpGet: { path: '/readyz', port: 8080 }
              periodSeconds: 15
            }
          ]
        }
      ]
      volumes: [
        {
          name: 'config'
          storageType: 'Secret'
          secrets: [
            { secretRef: 'ueba-toml', path: 'ueba.toml' }
          ]
        }
      ]
      scale: {
        minReplicas: 1
        maxReplicas: 1
      }
    }
  }
  dependsOn: [
    receiverRole
    senderRole
    publisherRole
    responderRole
  ]
}

output eventHubsNamespace string = namespace.name
output inputHub string = inputHub.name
output inputConsumerGroup string = inputConsumerGroup.name
output kafkaBootstrap string = '${namespace.name}.servicebus.windows.net:9093'
output outputHub string = outputHub.name
output logsIngestionEndpoint string = dcr.properties.endpoints.logsIngestion
output dcrImmutableId string = dcr.properties.immutableId
output identityClientId string = identity.properties.clientId
