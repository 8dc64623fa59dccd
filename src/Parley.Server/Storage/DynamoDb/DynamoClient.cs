using Amazon;
using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Parley.Server.Configuration;

namespace Parley.Server.Storage.DynamoDb;

/// <summary>Builds the SDK client from <c>Parley:Storage:DynamoDb</c>: a local endpoint when
/// <c>ServiceUrl</c> is set, else AWS in <c>Region</c>; keys when given, else the SDK's chain.</summary>
public static class DynamoClient
{
    public static AmazonDynamoDBClient Create(DynamoDbOptions options)
    {
        var config = new AmazonDynamoDBConfig
        {
            // A request that has not answered in this time is not going to: the caller gets an
            // error instead of a hung request (a send is then retried by its client, idempotently).
            Timeout = TimeSpan.FromSeconds(10),
            MaxErrorRetry = 3,
        };
        if (!string.IsNullOrWhiteSpace(options.ServiceUrl))
        {
            if (!Uri.TryCreate(options.ServiceUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            {
                throw new InvalidOperationException($"Parley:Storage:DynamoDb:ServiceUrl must be an http(s) URL (it is '{options.ServiceUrl}').");
            }
            config.ServiceURL = options.ServiceUrl;
            config.AuthenticationRegion = options.Region ?? "us-east-1";
        }
        else if (!string.IsNullOrWhiteSpace(options.Region))
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
        }
        if (string.IsNullOrWhiteSpace(options.TablePrefix) || options.TablePrefix.Length > 200
            || !options.TablePrefix.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
        {
            throw new InvalidOperationException(
                $"Parley:Storage:DynamoDb:TablePrefix must be 1 to 200 of the characters DynamoDB allows in a table name (a-z, A-Z, 0-9, _ - .); it is '{options.TablePrefix}'.");
        }
        return options.AccessKey is { Length: > 0 } && options.SecretKey is { Length: > 0 }
            ? new AmazonDynamoDBClient(new BasicAWSCredentials(options.AccessKey, options.SecretKey), config)
            : new AmazonDynamoDBClient(config);
    }
}
