# Техникалық себебі бет оқырманына арналмаған API қателерінің мәтіні: `error-<code>`.
# Техникалық себеп, бар болса, жауаптың `reason` өрісінде.

## Сұрау
error-malformed_json = Сұрау денесі дұрыс JSON емес.
error-invalid_body = Сұрау денесі сызбаға сәйкес емес: өрістерді және олардың түрлерін тексеріңіз.
error-unsupported_media_type = Сұрау денесі күтілген пішімде емес (JSON немесе суреттер үшін multipart/form-data).
error-body_too_large = Сұрау денесі тым үлкен.
error-bad_body = Сұрау денесін оқу мүмкін емес.
error-bad_query = Сұрау параметрлері қате.
error-bad_idempotency_key = Idempotency-Key тақырыбы 1-ден 200-ге дейін көрінетін таңбадан тұруы керек.
error-bad_upload = Жүктелген файлды оқу мүмкін болмады: суретті қайта жіберіңіз.
error-bad_date = Күнді ЖЖЖЖ-АА-КК түрінде енгізіңіз.
error-bad_region = Өңірді оның кодымен таңдаңыз.
error-unknown_reason = Себепті таңдаңыз: мерзімі аяқталуда, аты-жөнінің өзгеруі, жоғалту, бүліну немесе басқа.
error-unknown_state = Бұл мәртебені мұнда көрсету мүмкін емес.
error-state_not_in_queue = Бұл мәртебені мұнда көрсету мүмкін емес.
error-unknown_annulment_reason = Себепті таңдаңыз: фотосурет талаптарға сай емес, қолтаңба талаптарға сай емес немесе қосымша тексеру қажет.
error-invalid_staff = Қызметкердің есептік жазбасының деректері қате.
error-invalid_staff-username = Пайдаланушы аты: 1–64 латын әрпі, сан, «.», «_» немесе «-».
error-invalid_staff-password_too_short = Құпиясөз кемінде 12 таңбадан тұруы керек.
error-invalid_staff-unknown_role = Рөлді таңдаңыз: КҚБ қызметкері, дайындау операторы, тіркеу пунктінің операторы немесе әкімші.
error-invalid_staff-unknown_region = Тізімнен өңірді таңдаңыз.
error-invalid_staff-unknown_point = Тізімнен тіркеу пунктін таңдаңыз.
error-invalid_staff-iin = ЖСН — бақылау цифры дұрыс 12 цифр; қызметкер тек байланған сертификатпен қол қойса, өрісті бос қалдырыңыз.
error-invalid_staff-officer_without_region = КҚБ қызметкері бір өңірде жұмыс істейді: оны таңдаңыз.
error-invalid_staff-point_operator_without_point = Оператор бір тіркеу пунктінде жұмыс істейді: оны таңдаңыз.
error-invalid_staff-region_for_another_role = Өңір тек КҚБ қызметкеріне көрсетіледі: бұл рөл үшін бос қалдырыңыз.
error-invalid_staff-point_for_another_role = Тіркеу пункті тек оның операторына көрсетіледі: бұл рөл үшін бос қалдырыңыз.
error-invalid_staff-not_a_staff_role = Бұл рөл қызметкерлерге жатпайды.

## Қызмет
error-internal_error = Біздің тарапта қате болды. Ештеңе өзгерген жоқ; қайталап көріңіз.
error-workers_not_running = Қызметтің фондық жұмыстары істемей тұр.
error-rules_unavailable = Бүгін ешқандай ереже күшінде емес: онлайн қызмет белсенді емес.
error-ticket_unavailable = Талон нөмірін беру мүмкін болмады. Қайталап көріңіз.
error-entropy_unavailable = Біздің тарапта қате болды. Ештеңе өзгерген жоқ; қайталап көріңіз.
error-image_checks_unavailable = Фотосурет пен қолтаңбаны тексеру қазір қолжетімсіз. Қайталап көріңіз.
error-gateway_unavailable = Төлем қызметі қазір қолжетімсіз. Кейінірек қайталап көріңіз.

## Қолтаңбалар (сенім тізбегі)
error-malformed_signature = Қолтаңбаны оқу мүмкін емес.
error-malformed_certificate = Сертификатты оқу мүмкін емес.
error-digest_mismatch = Қол қойылған деректер өтініштің қазіргі деректерінен өзгеше.
error-bad_signature = Қолтаңба тексеруден өтпейді.
error-untrusted_certificate = Сертификатты сенімді куәландырушы орталық бермеген.
error-certificate_expired = Сертификаттың мерзімі өтіп кеткен.
error-certificate_not_yet_valid = Сертификат әлі күшіне енген жоқ.
error-certificate_revoked = Сертификат кері қайтарылған.
error-wrong_key_usage = Бұл сертификатпен құжаттарға қол қоюға болмайды.
error-certificate_without_iin = Сертификатта иесінің ЖСН-і көрсетілмеген: ҰКО сертификатымен қол қойыңыз.
error-certificate_of_another_person = Сертификат басқа адамға тиесілі: ЖСН-іңізге берілген сертификатпен қол қойыңыз.
error-certificate_of_another_organisation = Сертификат сіздің КҚБ-ға берілмеген: ұйымыңыздың сертификатымен қол қойыңыз.
error-certificate_policy_not_accepted = Бұл сертификаттың саясаты мұнда қол қою үшін қабылданбайды.
error-unsupported_algorithm = Қолтаңба алгоритміне қолдау көрсетілмейді.
error-signing_time_in_future = Қол қою уақыты болашақта көрсетілген.
error-malformed_key = Қолтаңба кілтін пайдалану мүмкін емес.
error-key_certificate_mismatch = Қолтаңба кілті сертификатқа сәйкес келмейді.
error-wrong_pin = PIN-код қате.
error-weak_pin = PIN-код тым қысқа.
error-malformed_sealed_key = Сақталған қолтаңба кілтін оқу мүмкін емес: әкімшіден сертификатты қайта байлауды сұраңыз.
error-invalid_trust_store = Сенімді сертификаттар дұрыс бапталмаған: әкімшіге жүгініңіз.
error-invalid_revocation_list = Кері қайтару тізімін пайдалану мүмкін емес: әкімшіге жүгініңіз.
error-invalid_document = Қол қоюға арналған құжат жарамсыз.
error-approval_missing = Бұл өтінішке мақұлдау қолтаңбасы жазылмаған.
error-data_missing = Қол қойылатын құжатқа қажетті өтініш деректері жоқ.
error-document_mismatch = Қол қойылған құжат өтініштің қазіргі деректеріне сәйкес емес: оны қайта алып, қол қойыңыз.
error-no_trust_anchors = Сенімді сертификаттар бапталмаған: ештеңені мақұлдау мүмкін емес. Әкімшіге жүгініңіз.
error-signer_not_officer_of_region = Қол қоюшы өтініш өңірінің КҚБ қызметкері емес.
error-signer_not_this_officer = Қолтаңба сіздің байланған сертификатыңызбен жасалмаған.

## Refusals the API states in words of its own
error-approval_document_stale = Қол қойылатын құжат ескірген: оны қайта алып, қол қойыңыз.
error-submission_document_stale = Қол қойылатын құжат ескірген: оны қайта алып, қол қойыңыз.
error-no_remote_signing_key = Сіздің қашықтан қол қою кілтіңіз тіркелмеген.
error-pin_signing_off = PIN-кодпен қол қою өшірілген: NCALayer арқылы өз ЭЦҚ-ңызбен қол қойыңыз.
error-revocation_status_unknown = Сертификаттың кері қайтарылмағанын қазір тексеру мүмкін емес (OCSP қызметі жауап бермейді). Бірнеше минуттан кейін қайталаңыз.
error-invalid_time_stamp = Қолтаңбадағы уақыт белгісі жарамсыз: қайта қол қойыңыз.
error-staff_scope_invalid = Есептік жазбаңыздың рөліне сай аумағы жоқ (өңір немесе тіркеу пункті). Әкімшіге жүгініңіз.
error-cross_site_request = Сұрау басқа сайттан келді және қабылданбады.
error-too_many_codes = Кодтар тым көп сұралды. 15 минуттан кейін қайталаңыз.
error-wrong_code = Код қате. Тағы { $left } әрекет қалды.
error-wrong_credentials = Пайдаланушы аты немесе құпиясөз қате.
error-holder_not_in_register = Халықты тіркеу тізілімінде құжат иесі туралы жазба жоқ: құжатты беруге болмайды.
error-invalid_date = Күнді ЖЖЖЖ-АА-КК түрінде жазыңыз.
error-invalid_period = Кезеңнің басы соңынан кейін тұр.
error-period_too_long = Кезең 366 күннен аспауы керек.
error-already_delivered = Хабарлама жеткізілген, қайталаудың қажеті жоқ.
error-refund_not_pending = Бұл төлем бойынша қайтару күтілмейді.
error-bad_phone = Телефон нөмірін +7XXXXXXXXXX түрінде енгізіңіз (мысалы, +7 701 123 45 67).
error-bad_language = Тілді таңдаңыз: қазақша, орысша немесе ағылшынша.
error-idempotency_key_reused = Бұл Idempotency-Key басқа сұрауға қолданылған.
error-not_in_register = Халықты тіркеу тізілімінде сіз туралы мәлімет табылмады. ХҚКО-ға жүгініңіз.
error-unknown_registration_point = Мұндай тіркеу пункті жоқ.
error-upload_too_large = Файл тым үлкен.
error-unsupported_image = Тек JPEG немесе PNG суреттері қабылданады.
error-too_many_checks = Тексерулер тым көп. Біраз уақыттан кейін қайталаңыз.
error-activation_in_past = Ережелерді өткен күннен бастап енгізуге болмайды: қабылданған шешімдер өз күнінің ережелерімен қабылданған. Бүгінгі немесе кейінгі күнді таңдаңыз.
error-activation_too_far_ahead = Ережелерді екі жылдан артық алдағы күннен бастап енгізуге болмайды.
error-signature_required = Мақұлдау қолтаңбамен ғана жасалады: құжат пен CMS қолтаңбасын, не PIN-кодты жіберіңіз.
error-ticket_not_at_this_point = Бұл талон бойынша құжат осы тіркеу пунктінде күтіп тұрған жоқ.
error-unknown_old_card = Бұрынғы куәлікпен не болғанын белгілеңіз: тапсырылды (surrendered) немесе көрсетілмеді (not_presented).

## Who is asking, and the store
error-not_found = Сұралған жазба табылмады.
error-unauthorized = Жүйеге кіріңіз.
error-forbidden = Бұл әрекетке рұқсатыңыз жоқ.
error-conflict = Өтініш дәл қазір өзгерді. Бетті жаңартып, қайталаңыз.
error-live_application_exists = Сізде қаралып жатқан өтініш бар: жаңасын тек ол аяқталғаннан кейін беруге болады.
error-username_taken = Бұл пайдаланушы аты бос емес.
error-store_unavailable = Қызмет уақытша қолжетімсіз. Кейінірек қайталаңыз.
error-duplicate = Мұндай жазба бұрыннан бар.
error-duplicate_idempotency_key = Бұл сұрау қазір өңделіп жатыр.
error-duplicate_ticket = Талон нөмірін алу мүмкін болмады. Қайталап көріңіз.

## An upload the checks cannot read
error-empty_file = Файл бос. Суретті қайта таңдап, жүктеңіз.
error-file_too_large = Файл тым үлкен. Суретті кішірек өлшемде (мысалы, 600×800 пиксель JPEG) сақтап, қайта жүктеңіз.
error-unsupported_format = Тек JPEG немесе PNG суреттері қабылданады. Суретті JPEG форматында сақтап, қайта жүктеңіз.
error-image_too_small = Сурет тым кішкентай. Түпнұсқа суретті кішірейтпей жүктеңіз.
error-image_too_large = Суреттің өлшемі тым үлкен. Оны кішірейтіп (мысалы, 600×800 пиксель), қайта жүктеңіз.
error-truncated_image = Файл толық жүктелмеген немесе бүлінген. Суретті қайта сақтап, жүктеңіз.
error-corrupt_image = Файл бүлінген, оны сурет ретінде оқу мүмкін емес. Суретті қайта сақтап, жүктеңіз.
error-memory_limit_exceeded = Суретті өңдеу мүмкін емес: ол тым үлкен. Кішірек суретті жүктеңіз.

## Fields
error-comment_required = Азаматқа түсініктеме жазыңыз (1000 таңбаға дейін).
error-activation_after_period = Бұл ережелер жиынтығы { $until } күні аяқталады: оны одан кейінгі күннен бастап енгізуге болмайды.
error-unknown_document_kind = Құжат түрін таңдаңыз: жеке куәлік (identity-card) немесе паспорт (passport).
error-bad_document_number = Құжат нөмірі форматқа сәйкес емес: жеке куәлік — 9 цифр, паспорт — N және 8 цифр.
error-method_not_allowed = Бұл мекенжай мұндай сұрауды қабылдамайды.

## Administration and the gateway
error-date_out_of_range = Күн { $earliest } мен { $latest } аралығында болуы керек.
error-callback_signature_invalid = Төлем шлюзінің хабарламасының қолтаңбасы расталмады.
error-bad_callback = Төлем шлюзінің хабарламасын оқу мүмкін емес.
error-unknown_payment = Мұндай төлем жоқ.
error-amount_mismatch = Хабарламадағы сома төлем сомасымен сәйкес келмейді.
error-bad_mrp_table = АЕК кестесі жарамсыз: мемлекеттік бажды есептеу мүмкін емес. Әкімші түзетуі керек.
error-no_mrp_for_year = Осы жылдың АЕК мәні белгісіз: мемлекеттік бажды есептеу мүмкін емес. Әкімші қосуы керек.
error-no_duty_for_kind = Қолданыстағы ережелерде бұл құжат үшін мемлекеттік баж көрсетілмеген. Әкімші түзетуі керек.
error-code_expired = Кодтың мерзімі өтті немесе ол пайдаланылды. Жаңа код сұраңыз.
error-code_locked = Код тым көп рет қате енгізілді. Жаңа код сұраңыз.
