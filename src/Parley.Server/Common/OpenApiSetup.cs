using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Parley.Server.Common;

/// <summary>The OpenAPI document at <c>/openapi/v1.json</c>. Each route declares its success answer
/// where it is mapped (<c>Produces</c>); this adds the error shape every route shares, so a client
/// generated from the document knows that any other status carries <c>{"error": "a sentence"}</c>.</summary>
public static class OpenApiSetup
{
    public static IServiceCollection AddParleyOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(options =>
        {
            options.AddSchemaTransformer(NumbersAreNumbers);
            options.AddOperationTransformer(AddErrorAnswers);
        });

    /// <summary>The server writes numbers as JSON numbers; that it also reads them from strings is
    /// leniency, not something a generated client should model.</summary>
    private static Task NumbersAreNumbers(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken ct)
    {
        if (schema.Type is { } type && (type & (JsonSchemaType.Integer | JsonSchemaType.Number)) != 0 && (type & JsonSchemaType.String) != 0)
        {
            schema.Type = type & ~JsonSchemaType.String;
            schema.Pattern = null;
        }
        return Task.CompletedTask;
    }

    private static async Task AddErrorAnswers(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken ct)
    {
        var error = await context.GetOrCreateSchemaAsync(typeof(ErrorBody), null, ct);
        operation.Responses ??= [];
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        var signedIn = metadata.OfType<IAuthorizeData>().Any() && !metadata.OfType<IAllowAnonymous>().Any();
        if (signedIn) operation.Responses.TryAdd("401", ErrorResponse(error, "No valid access token, or its session has ended."));
        operation.Responses.TryAdd("default", ErrorResponse(error,
            "Any other status (400 bad input, 403, 404 not found or not a member, 409, 413, 429 with Retry-After, ...): a sentence saying why."));
    }

    private static OpenApiResponse ErrorResponse(IOpenApiSchema schema, string description) => new()
    {
        Description = description,
        Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = schema } },
    };
}
